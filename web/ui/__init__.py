"""The web console: server-rendered pages on the same application layer as the API.

`web.ui.install.setup(app)` adds the pages, the static assets (served by Wharfinger itself: no
CDN), the console middleware (sessions, CSRF, HTML error pages) and the key that signs CSRF tokens.
"""
