"""``careedge provision``: a site's CA, device certificates, broker ACLs and signed config bundles."""
