"""Reports and dashboards group a month of contacts and orders by local day (A2): on PostgreSQL the planner
has statistics on exactly the expression Django writes for that, so it does not sort a month on disk."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.functions import TruncDate
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="extended statistics are PostgreSQL's")
def test_local_day_statistics_match_the_grouping_expression_A2():
    from kefu.interactions.models import Interaction

    with connection.cursor() as c:
        c.execute("SELECT stxname, pg_get_statisticsobjdef_expressions(oid)::text FROM pg_statistic_ext")
        found = dict(c.fetchall())
    assert {"interaction_started_day", "ticket_created_day", "ticket_resolved_day", "visit_completed_day"} <= set(found)
    sql, params = (Interaction.objects.annotate(k=TruncDate("started_at", tzinfo=timezone.get_current_timezone()))
                    .values("k").query.sql_with_params())
    # The statistics object's expression is the one in the query (same column, zone and cast).
    assert '"started_at" AT TIME ZONE %s)::date' in sql and params == ("Asia/Shanghai",)
    assert "AT TIME ZONE 'Asia/Shanghai'::text))::date" in found["interaction_started_day"]
    assert "started_at" in found["interaction_started_day"]
