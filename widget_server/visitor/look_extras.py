"""What the look document adds for issue 15: analytics goals, triggers and the A/B test.

Contract 2 (helper "widget" reads it): exactly the keys ``analytics``, ``triggers`` and
``variants``; all triggers off and no test for a widget never configured.
"""

from __future__ import annotations

from typing import Any

from ..insight.lead_settings import analytics_of, triggers_of, variants_of
from ..models import Widget


def look_extras(widget: Widget) -> dict[str, Any]:
    settings = widget.lead_settings if isinstance(widget.lead_settings, dict) else {}
    return {
        "analytics": analytics_of(settings),
        "triggers": triggers_of(settings.get("triggers")),
        "variants": variants_of(settings),
    }
