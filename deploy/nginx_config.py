"""The nginx configuration that puts several jetviz replicas behind one address.

Fills ``deploy/nginx.conf.template`` (an http-level snippet: upstreams, maps and one
server block) for a listen address and the replicas' ``host:port`` addresses; README,
"Serving a class from several processes", shows where it goes:

    python deploy/nginx_config.py --listen 80 --replica 127.0.0.1:8501 --replica 127.0.0.1:8502

Vocabulary
----------
replica
    One ``streamlit run app.py`` process, named ``r0``, ``r1``, … in the order given; the
    name is what the ``jetviz_replica`` cookie and the ``X-Jetviz-Replica`` header carry.
pool
    ``jetviz_any`` (every replica, round robin, for a browser without the cookie) and
    ``jetviz_r<i>`` (replica i, the others as backups) for a browser pinned to replica i.

Standard library only: nginx hosts need no jetviz install to run it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
DEFAULT_MAX_UPLOAD_MB = 200  # .streamlit/config.toml, server.maxUploadSize
_ADDRESS = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(?P<port>[0-9]{1,5})")
_LISTEN = re.compile(r"((?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):)?(?P<port>[0-9]{1,5})")


class ConfigError(ValueError):
    """A listen or replica address nginx would not accept; the message says the form."""


def _port(text: str, what: str) -> None:
    if not 1 <= int(text) <= 65535:
        raise ConfigError(f"{what}: port {text} is outside 1–65535")


def check_replica(address: str) -> str:
    """``address`` if it is ``host:port`` (IPv6 as ``[::1]:8501``); raises ConfigError."""
    match = _ADDRESS.fullmatch(address.strip())
    if match is None:
        raise ConfigError(f"replica {address!r}: expected host:port, e.g. 127.0.0.1:8501")
    _port(match["port"], f"replica {address!r}")
    return address.strip()


def check_listen(listen: str) -> str:
    """``listen`` if it is ``port`` or ``host:port``; raises ConfigError."""
    match = _LISTEN.fullmatch(listen.strip())
    if match is None:
        raise ConfigError(f"listen {listen!r}: expected a port (80) or host:port "
                          "(127.0.0.1:8080)")
    _port(match["port"], f"listen {listen!r}")
    return listen.strip()


def _indent(lines: list[str]) -> str:
    return "\n".join(f"    {line}" for line in lines)


def render(listen: str, replicas: list[str],
           max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB) -> str:
    """The nginx snippet for ``replicas`` behind ``listen``.

    Args:
        listen: what nginx listens on: ``80`` or ``host:port``.
        replicas: the replicas' ``host:port`` addresses, each once, at least one.
        max_upload_mb: the largest request body [MB] (match Streamlit's server.maxUploadSize).

    Returns:
        The configuration text, for a file included inside nginx's ``http {}`` block.

    Raises:
        ConfigError: no replica, a repeated replica, or a malformed address.
    """
    addresses = [check_replica(a) for a in replicas]
    if not addresses:
        raise ConfigError("give at least one replica (--replica host:port)")
    if len(set(addresses)) != len(addresses):
        raise ConfigError(f"replicas {addresses}: each address once")
    if max_upload_mb < 1:
        raise ConfigError(f"max upload {max_upload_mb} MB: expected ≥ 1")
    names = [f"r{i}" for i in range(len(addresses))]
    pinned = []
    for name, address in zip(names, addresses, strict=True):
        backups = [f"server {other} backup;" for other in addresses if other != address]
        body = _indent([f"server {address};", *backups])
        pinned.append(f"upstream jetviz_{name} {{\n{body}\n}}")
    fields = {
        "@LISTEN@": check_listen(listen),
        "@MAX_UPLOAD_MB@": str(max_upload_mb),
        "@ANY_SERVERS@": _indent([f"server {a};" for a in addresses]),
        "@PINNED_UPSTREAMS@": "\n".join(pinned),
        "@POOL_MAP@": _indent([f"{n} jetviz_{n};" for n in names]),
        "@REPLICA_MAP@": _indent([f'"~(^| ){re.escape(a)}$" {n};'
                                  for n, a in zip(names, addresses, strict=True)]),
    }
    text = TEMPLATE.read_text()
    for key, value in fields.items():
        text = text.replace(key, value)
    return text


STANDALONE = """worker_processes 1;
pid {work}/nginx.pid;
events {{ worker_connections 512; }}
http {{
{extra}    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {site};
}}
"""


def standalone(work: Path, site: Path, extra_http: str = "") -> str:
    """A whole nginx.conf that keeps every file nginx writes under ``work`` and includes
    ``site`` (the output of :func:`render`): to try the balancer without touching
    /etc/nginx (``nginx -p WORK -e WORK/error.log -c WORK/nginx.conf``), as
    benchmarks/replicas.py and the tests run it.

    Args:
        work: a writable folder (pid file, temporary files, logs).
        site: the file holding the rendered snippet.
        extra_http: more directives for the http block, one per line.
    """
    extra = "".join(f"    {line}\n" for line in extra_http.splitlines() if line.strip())
    return STANDALONE.format(work=work, site=site, extra=extra)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="80", help="port or host:port nginx listens on")
    parser.add_argument("--replica", action="append", default=[], metavar="HOST:PORT",
                        help="a replica's address (repeat for each: the first is r0)")
    parser.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB,
                        help="largest upload in MB (Streamlit's server.maxUploadSize)")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render(args.listen, args.replica, args.max_upload_mb))
    except ConfigError as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
