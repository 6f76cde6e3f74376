"""The HTTP API under /api/v1/: mounts each domain's router (STYLE.md §1, §5)."""

from __future__ import annotations

from ninja import NinjaAPI

from kefu.analytics.api import router as analytics_router
from kefu.analytics.api_reports import router as analytics_reports_router
from kefu.core.api import bearer_auth, install_handlers
from kefu.customers.api import router as customers_router
from kefu.followup.api import router as followup_router
from kefu.notifications.api import router as notifications_router
from kefu.interactions.api import router as interactions_router
from kefu.quality.api import router as quality_router
from kefu.knowledge.api import router as knowledge_router
from kefu.tickets.api import router as tickets_router

api = NinjaAPI(
    title="kefu API",
    version="1",
    description="Work orders, customers and the rest of a telecom contact centre. Authenticate with `Authorization: Bearer <token>` (create one with `kefu token create USERNAME`).",
    auth=bearer_auth,
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url=None,  # Swagger UI would load assets from a CDN; the spec is at /api/v1/openapi.json
)
install_handlers(api)
api.add_router("", customers_router)
api.add_router("", tickets_router)
api.add_router("", analytics_router)
api.add_router("", analytics_reports_router)
api.add_router("", knowledge_router)
api.add_router("", interactions_router)
api.add_router("", quality_router)
api.add_router("", followup_router)
api.add_router("", notifications_router)
