"""Who may call the edge's and the bridge's HTTP APIs: roles, hashed tokens, the ``require``
dependency, and the middleware that limits bodies and audits state-changing requests."""
