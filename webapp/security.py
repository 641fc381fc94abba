"""Headers every response carries (pages, Dash routes, API answers, static files) and the trusted-proxy fix.

The Content-Security-Policy allows only this server's own files, plus, on a Dash page, the inline scripts Dash
writes into it (by hash) and inline styles (AG Grid, react-select, Plotly and the Dash renderer inject
`<style>` elements, none of which takes a nonce from Dash). On Dash pages it also allows `eval`: Plotly's WebGL
traces (`Scattergl`) compile their shaders with `Function()` (regl) and show "WebGL is not supported" without
it. Every other page (sign-in, admin, upload) gets the same policy without `eval`.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

HSTS = "max-age=31536000"  # a year; no includeSubDomains: other hosts under the school's domain are not ours


def install(app: Flask) -> None:
    """Trust `TRUSTED_PROXIES` proxies' X-Forwarded-* headers and add the security headers to every response.

    Call after the Dash apps are mounted: the policy allows exactly their inline scripts, by hash.
    """
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    https = app.config["SESSION_COOKIE_SECURE"]
    dash_prefixes = tuple(app.extensions.get("dash_apps", {}))
    page_headers = security_headers(content_security_policy(), https)
    dash_headers = security_headers(content_security_policy(dash_script_hashes(app), allow_eval=True), https)

    @app.after_request
    def _security_headers(response):
        headers = dash_headers if request.path.startswith(dash_prefixes) else page_headers
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def security_headers(policy: str, https: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def content_security_policy(script_hashes: Sequence[str] = (), allow_eval: bool = False) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *(["'unsafe-eval'"] if allow_eval else []), *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],  # data: Bootstrap's inline SVG icons, Plotly's image export
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def dash_script_hashes(app: Flask) -> list[str]:
    """The hashes of every mounted Dash app's inline scripts: the renderer's start-up and clientside callbacks."""
    dash_apps = app.extensions.get("dash_apps", {}).values()
    return sorted({digest for dash_app in dash_apps for digest in dash_app.csp_hashes()})
