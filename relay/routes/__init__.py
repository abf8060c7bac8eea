"""The relay's routes, one module per resource; each has ``register(app, ctx)``.

- :mod:`.pages`: the web page, its static files, health, metrics and the OpenAPI document;
- :mod:`.auth`: login and refresh;
- :mod:`.transcripts`: create, list, read, edit and delete transcripts;
- :mod:`.content`: a transcript's summary, actions and exports;
- :mod:`.sync`: the websocket that syncs a transcript's doc.

What they share (the bearer check, SQL off the event loop, the audit log) is
:class:`~relay.routes._context.RouteContext`.
"""
