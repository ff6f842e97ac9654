"""Which webhook routes hear of an alert transition (every transition also goes on MQTT).

- ``raised`` and ``worsened``: the first-line routes whose colours and categories match and, for
  routes limited to ``resident_tags``, whose tag the resident carries (a community grid worker
  hears only of residents the site marked, such as those with a severe mental disorder).
- ``escalated`` to level n: the ``escalate_to`` routes of level n-1, starting from the first line.
- ``acknowledged`` and ``resolved``: every route the alert has been sent to, so their lists close.
- ``repeated``: none.

The bridge serves one site, so the site is already chosen by whose config this is.
"""

from __future__ import annotations

from careedge_common.config_alerts import AlertRules
from cloud_bridge.alert import Alert, TransitionKind


class Router:
    def __init__(self, rules: AlertRules) -> None:
        self._rules = rules
        self._by_id = {route.id: route for route in rules.routes}

    @property
    def max_level(self) -> int:
        """Escalation stops here even when the chain loops (A to B and back)."""
        return len(self._by_id)

    def routes_for(self, alert: Alert, kind: TransitionKind) -> tuple[str, ...]:
        if kind in ("raised", "worsened"):
            return self.first_line(alert)
        if kind == "escalated":
            return self.level(alert, alert.escalation_level)
        if kind in ("acknowledged", "resolved"):
            return tuple(alert.routes)
        return ()

    def first_line(self, alert: Alert) -> tuple[str, ...]:
        tags = set(self._rules.resident(alert.subject).tags)
        return tuple(
            route.id
            for route in self._rules.routes
            if not route.escalation_only
            and alert.severity in route.colours
            and (route.categories is None or alert.category in route.categories)
            and (not route.resident_tags or tags.intersection(route.resident_tags))
        )

    def level(self, alert: Alert, level: int) -> tuple[str, ...]:
        """The routes at escalation ``level`` (0 is the first line); empty past the chain's end."""
        current = self.first_line(alert)
        for _ in range(level):
            targets = [self._by_id[route_id].escalate_to for route_id in current]
            current = tuple(dict.fromkeys(target for target in targets if target is not None))
        return current
