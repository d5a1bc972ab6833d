"""The activities page: the feed the visitor may see (admins and auditors: all of it) with the
API's filters, cursor paging and export links. Filters are parsed by the API's own function
(web.api.activities.feed_query), so the page and `GET /api/v1/activities` agree on every rule."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict

from domain.errors import DomainError
from projections.activity.entries import Entry
from projections.activity.visibility import audience_for
from web.api.activities import cursor_of, feed_query
from web.appkeys import SERVICES
from web.ui.access import namespace_as_stored, signed_in
from web.ui.forms import Form
from web.ui.rendering import render

routes = web.RouteTableDef()

FILTERS = ("actor", "team", "namespace", "repository", "type", "since", "until")
PAGE_SIZE = 50


@routes.get("/activities")
async def activities_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    user = signed_in(request)
    form = Form(values={name: request.query.get(name, "")[:255].strip() for name in FILTERS})
    # An empty field means "any": the API would read `team=` as a team named "".
    chosen = MultiDict((k, v) for k, v in form.values.items() if v)
    if "namespace" in chosen:
        chosen["namespace"] = namespace_as_stored(services.index, chosen["namespace"])
    if request.query.get("cursor"):
        chosen["cursor"] = request.query["cursor"][:200]
    chosen["limit"] = str(PAGE_SIZE)
    entries: list[Entry] = []
    more = False
    try:
        query, _ = feed_query(services, chosen)
        rows = await services.pool.run(services.activity.page,
                                       replace(query, limit=PAGE_SIZE + 1),
                                       audience_for(services.index, user.id))
        entries, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    except DomainError as e:
        form.fail(e, default_field="actor")
        if e.field == "cursor":  # not a field of the form: start again from the newest
            form.errors.pop("cursor")
            form.error("base", "That page link is not valid; showing the newest activities.")
    filters = {k: v for k, v in form.values.items() if v}
    older = (f"/activities?{urlencode({**filters, 'cursor': cursor_of(entries[-1])})}"
             if more and entries else None)
    exports = {label: f"/api/v1/activities?{urlencode({**filters, 'format': fmt})}"
               for label, fmt in (("CSV", "csv"), ("JSON Lines", "jsonl"), ("OCSF", "ocsf"))}
    return render(request, "activities.html", status=_status(form), form=form,
                  entries=entries, older=older, exports=exports, filtered=bool(filters),
                  paged="cursor" in request.query,
                  newest=f"/activities?{urlencode(filters)}" if filters else "/activities",
                  sees_all=user.admin or user.auditor)


def _status(form: Form) -> int:
    if not form.errors or form.errors.keys() == {"base"}:
        return 200
    return 422
