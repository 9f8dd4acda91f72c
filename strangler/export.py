"""The route table as a production proxy's configuration, so the in-process strangler is
the embedded default, not the ceiling.

- nginx: routes become regex locations; ``canary`` a ``split_clients`` on the caller's
  credential and address (sticky per caller; raising the percent only adds callers, as
  split_clients hands out hash ranges in order); ``shadow`` a ``mirror`` (nginx compares
  nothing: use the in-process shadow for comparisons); the caller's identity signed by
  the monolith through ``auth_request``, or the service would answer 401 to everything.
  Safe-method routes fall back to the monolith when the service fails
  (``error_page … = @monolith``), as the in-process proxy does.
- Envoy: the same as static resources: ``weighted_clusters`` with a hash policy on the
  caller for canaries, ``request_mirror_policies`` for shadows, ``ext_authz`` to the
  monolith for the identity, ``retry_policy`` for safe methods only.

The monolith behind such a proxy must not route again: run it without BLIPAY_SERVICES.
"""

import json
from urllib.parse import urlsplit

from django.conf import settings

from strangler.forward import SAFE_METHODS
from strangler.models import Route
from strangler.table import compile_path
from strangler.views import EDGE_TOKEN_HEADER, edge_token

IDENTITY_PATH = "/internal/strangler/identity"
_ENVOY = "type.googleapis.com/envoy.extensions"


def render(fmt: str, *, listen: str, monolith: str, run_dir: str) -> str:
    routes = [r for r in Route.objects.all() if r.mode != Route.MONOLITH and r.service in settings.BLIPAY_SERVICES]
    if fmt == "nginx":
        return nginx(routes, listen=listen, monolith=monolith, run_dir=run_dir)
    return envoy(routes, listen=listen, monolith=monolith)


def _regex(route: Route) -> str:
    return compile_path(route.path).pattern if route.path else "^/"


def _service_addr(route: Route) -> str:
    return urlsplit(settings.BLIPAY_SERVICES[route.service]).netloc


def _safe_only(route: Route) -> bool:
    return {m.strip().upper() for m in route.methods.split(",")} <= SAFE_METHODS


def nginx(routes: list[Route], *, listen: str, monolith: str, run_dir: str) -> str:
    upstreams = [f"    upstream blipay_monolith {{ server {monolith}; keepalive 32; }}"]
    for service in sorted({r.service for r in routes}):
        addr = urlsplit(settings.BLIPAY_SERVICES[service]).netloc
        upstreams.append(f"    upstream blipay_service_{service} {{ server {addr}; keepalive 32; }}")
    splits, locations = [], []
    for route in routes:
        target = f"blipay_service_{route.service}"
        methods = " ".join(sorted({m.strip().upper() for m in route.methods.split(",")}))
        lines = [f"        # route {route.name}: {route.mode}", f"        location ~ {_nginx_regex(route)} {{"]
        lines.append(f"            limit_except {methods} {{ proxy_pass http://blipay_monolith; }}")
        if route.mode == Route.SHADOW:
            served = "blipay_monolith" if route.serve == Route.MONOLITH else target
            mirrored = target if route.serve == Route.MONOLITH else "blipay_monolith"
            lines += [f"            mirror /_blipay_mirror_{route.name};", f"            proxy_pass http://{served};"]
            locations.append(
                "\n".join(
                    [
                        f"        location = /_blipay_mirror_{route.name} {{",
                        "            internal;",
                        *_identity_lines(indent=12),
                        f"            proxy_pass http://{mirrored}$request_uri;",
                        "        }",
                    ]
                )
            )
        else:
            if route.mode == Route.CANARY:
                variable = f"$blipay_route_{route.name.replace('-', '_')}"
                if 0 < route.percent < 100:
                    splits.append(
                        f'    split_clients "${{http_authorization}}${{remote_addr}}" {variable} '
                        f"{{ {route.percent}% {target}; * blipay_monolith; }}"
                    )
                else:
                    everyone = target if route.percent >= 100 else "blipay_monolith"
                    splits.append(f"    map $remote_addr {variable} {{ default {everyone}; }}")
                lines.append(f"            proxy_pass http://{variable};")
            else:
                lines.append(f"            proxy_pass http://{target};")
            lines += [
                f"            proxy_connect_timeout {round(route.connect_timeout * 1000)}ms;",
                f"            proxy_read_timeout {round(route.read_timeout * 1000)}ms;",
            ]
            if _safe_only(route):  # a write never falls back once the service may have it
                lines += [
                    "            proxy_intercept_errors on;",
                    "            error_page 500 502 503 504 = @blipay_monolith;",
                ]
        lines[2:2] = _identity_lines(indent=12)
        lines.append("        }")
        locations.append("\n".join(lines))
    token = edge_token()
    return f"""# Blipay strangler routes for nginx, generated by `manage.py strangler export --format nginx`.
# Check: nginx -t -c FILE. Run the monolith behind it without BLIPAY_SERVICES.
worker_processes 1;
pid {run_dir}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {run_dir}/body;
    proxy_temp_path {run_dir}/proxy;
    fastcgi_temp_path {run_dir}/fastcgi;
    uwsgi_temp_path {run_dir}/uwsgi;
    scgi_temp_path {run_dir}/scgi;
{chr(10).join(upstreams)}
{chr(10).join(splits)}
    server {{
        listen {listen};
        proxy_http_version 1.1;
{_forwarding(indent=8)}
        # A client's own identity header never passes.
        proxy_set_header X-Blipay-Identity "";
        location = /_blipay_identity {{
            internal;
            proxy_pass http://blipay_monolith{IDENTITY_PATH};
            proxy_pass_request_body off;
{_forwarding(indent=12)}
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header {EDGE_TOKEN_HEADER} {token};
        }}
        location @blipay_monolith {{
            proxy_pass http://blipay_monolith;
        }}
{chr(10).join(locations)}
        location / {{
            proxy_pass http://blipay_monolith;
        }}
    }}
}}
"""


def _nginx_regex(route: Route) -> str:
    # nginx's PCRE takes the same pattern; quoted, since it contains braces-free specials.
    return '"' + _regex(route).replace('"', r"\"") + '"'


def _forwarding(*, indent: int) -> str:
    """Headers every proxied request carries. nginx inherits proxy_set_header only into a
    location that sets none of its own, so each such location repeats these."""
    pad = " " * indent
    return "\n".join(
        f"{pad}proxy_set_header {name} {value};"
        for name, value in (
            ("Connection", '""'),
            ("Host", "$http_host"),
            ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
            ("X-Forwarded-Proto", "$scheme"),
            ("X-Forwarded-Host", "$http_host"),
        )
    )


def _identity_lines(*, indent: int) -> list[str]:
    pad = " " * indent
    return [
        _forwarding(indent=indent),
        f"{pad}auth_request /_blipay_identity;",
        f"{pad}auth_request_set $blipay_identity $upstream_http_x_blipay_identity;",
        f"{pad}proxy_set_header X-Blipay-Identity $blipay_identity;",
        f'{pad}proxy_set_header Authorization "";',
    ]


def envoy(routes: list[Route], *, listen: str, monolith: str) -> str:
    def cluster(name: str, addr: str) -> dict:
        host, _, port = addr.rpartition(":")
        return {
            "name": name,
            "type": "STATIC",
            "connect_timeout": "0.5s",
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": int(port)}}}}
                        ]
                    }
                ],
            },
        }

    clusters = [cluster("blipay_monolith", monolith)]
    clusters += [
        cluster(f"blipay_service_{s}", urlsplit(settings.BLIPAY_SERVICES[s]).netloc)
        for s in sorted({r.service for r in routes})
    ]
    envoy_routes = []
    for route in routes:
        target = f"blipay_service_{route.service}"
        methods = sorted({m.strip().upper() for m in route.methods.split(",")})
        match = {
            "safe_regex": {"regex": _regex(route)},
            "headers": [
                {"name": ":method", "string_match": {"safe_regex": {"regex": "^(" + "|".join(methods) + ")$"}}}
            ],
        }
        action: dict = {"timeout": f"{route.read_timeout}s"}
        if route.mode == Route.CANARY:
            action["weighted_clusters"] = {
                "clusters": [
                    {"name": target, "weight": route.percent},
                    {"name": "blipay_monolith", "weight": 100 - route.percent},
                ]
            }
            # Sticky per caller: the same credential (or address) hashes to the same side.
            action["hash_policy"] = [
                {"header": {"header_name": "authorization"}},
                {"connection_properties": {"source_ip": True}},
            ]
        elif route.mode == Route.SHADOW:
            served, mirrored = (
                ("blipay_monolith", target) if route.serve == Route.MONOLITH else (target, "blipay_monolith")
            )
            action["cluster"] = served
            action["request_mirror_policies"] = [
                {
                    "cluster": mirrored,
                    "runtime_fraction": {"default_value": {"numerator": route.shadow_sample, "denominator": "HUNDRED"}},
                }
            ]
        else:
            action["cluster"] = target
        if _safe_only(route):
            action["retry_policy"] = {"retry_on": "connect-failure,refused-stream,5xx", "num_retries": 1}
        envoy_routes.append({"name": route.name, "match": match, "route": action})
    envoy_routes.append(
        {"name": "monolith", "match": {"prefix": "/"}, "route": {"cluster": "blipay_monolith", "timeout": "30s"}}
    )
    authz = {
        "@type": f"{_ENVOY}.filters.http.ext_authz.v3.ExtAuthz",
        "http_service": {
            "server_uri": {"uri": f"http://{monolith}", "cluster": "blipay_monolith", "timeout": "1s"},
            "path_prefix": IDENTITY_PATH + "?",
            "authorization_request": {
                "headers_to_add": [{"key": EDGE_TOKEN_HEADER, "value": edge_token()}],
                "allowed_headers": {"patterns": [{"exact": "authorization"}]},
            },
            "authorization_response": {"allowed_upstream_headers": {"patterns": [{"exact": "x-blipay-identity"}]}},
        },
    }
    manager = {
        "@type": f"{_ENVOY}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "blipay",
        # A client's own identity header never passes.
        "request_headers_to_remove": ["x-blipay-identity"],
        "route_config": {
            "name": "blipay_routes",
            "virtual_hosts": [{"name": "blipay", "domains": ["*"], "routes": envoy_routes}],
        },
        "http_filters": [
            {"name": "envoy.filters.http.ext_authz", "typed_config": authz},
            {"name": "envoy.filters.http.router", "typed_config": {"@type": f"{_ENVOY}.filters.http.router.v3.Router"}},
        ],
    }
    host, _, port = listen.rpartition(":")
    listener = {
        "name": "blipay",
        "address": {"socket_address": {"address": host, "port_value": int(port)}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}
        ],
    }
    config = {"static_resources": {"listeners": [listener], "clusters": clusters}}
    return json.dumps(config, indent=2)
