"""Stable operationIds: what generated clients name their functions after.

FastAPI's own ids join the function name, the path and the method
(`create_ticket_v1_tickets_post`): every client's method name would change with
a path. Here an id is the endpoint function's name in camelCase
(`create_ticket` -> `createTicket`), or the override below where that name says
too little outside its module (`me`, `get_summary`, `list_due`).
"""

from __future__ import annotations

from fastapi.routing import APIRoute

OVERRIDES: dict[str, str] = {
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "prometheus_metrics": "getPrometheusMetrics",
    "me": "getMe",
    "read_feed": "getFeed",
    "add_comment": "addTicketComment",
    "list_comments": "listTicketComments",
    "list_events": "listTicketEvents",
    "add_follow_up": "addTicketFollowUp",
    "list_due": "listDueFollowUps",
    "list_providers": "listCommunityProviders",
    "assign_provider": "assignCommunityProvider",
    "list_policies": "listSlaPolicies",
    "create_policy": "createSlaPolicy",
    "get_policy": "getSlaPolicy",
    "update_policy": "updateSlaPolicy",
    "list_days": "listCalendarDays",
    "set_day": "setCalendarDay",
    "clear_day": "clearCalendarDay",
    "list_escalations": "listSlaEscalations",
    "get_summary": "getMetricsSummary",
    "get_rankings": "getMetricsRankings",
    "get_trend": "getMetricsTrend",
    "get_action": "getThreeYearAction",
    "put_action": "updateThreeYearAction",
    "create_link": "createDashboardLink",
    "list_deliveries": "listWebhookDeliveries",
    "get_delivery": "getWebhookDelivery",
    "redeliver": "redeliverWebhookDelivery",
    "list_elder_access": "listElderAccessLog",
}


def camel_case(snake: str) -> str:
    first, *rest = snake.strip("_").split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest if part)


def operation_id(route: APIRoute) -> str:
    """FastAPI's generate_unique_id_function for the whole app."""
    return OVERRIDES.get(route.name) or camel_case(route.name)
