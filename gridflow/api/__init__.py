"""``gridflow api``: the HTTP service field apps, command centres and ops talk to.

Intake (``POST /v1/events``, Open311 GeoReport v2) produces to the input topics; case
queries, feedback outcomes, live streams and KPIs are served from a read model projected
from the output topics. See docs/api.md.
"""
