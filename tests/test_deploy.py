"""deploy/nginx_config.py: the nginx snippet for several replicas (nginx itself is optional:
the syntax check runs only where Debian's nginx is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from deploy.nginx_config import ConfigError, render, standalone

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
A, B, C = "127.0.0.1:8501", "127.0.0.1:8502", "[::1]:8503"


def _block(text: str, name: str) -> str:
    match = re.search(rf"upstream {name} \{{\n(.*?)\n\}}", text, re.S)
    assert match is not None, f"no upstream {name}"
    return match.group(1)


def test_every_replica_is_in_the_round_robin_pool_and_pins_with_the_others_as_backups():
    text = render("8080", [A, B, C])
    assert re.findall(r"server (\S+);", _block(text, "jetviz_any")) == [A, B, C]
    for i, own in enumerate([A, B, C]):
        pool = _block(text, f"jetviz_r{i}")
        assert re.findall(r"server (\S+);", pool) == [own]
        assert sorted(re.findall(r"server (\S+) backup;", pool)) == sorted({A, B, C} - {own})
        assert f"r{i} jetviz_r{i};" in text  # the cookie value selects the pool


def test_the_replica_map_names_the_last_address_tried():
    text = render("8080", [A, B])
    pattern = re.search(r'"~(.*)" r1;', text).group(1)
    assert re.search(pattern, f"{A}, {B}")  # failover from r0 to r1: served by r1
    assert not re.search(pattern, f"{B}, {A}")
    assert not re.search(pattern, f"{B}9")  # port 85029 is not port 8502


def test_websocket_headers_timeouts_and_listen_are_set():
    text = render("10.0.0.5:80", [A])
    assert "listen 10.0.0.5:80;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $jetviz_connection;" in text
    assert "proxy_read_timeout 86400s;" in text
    assert "client_max_body_size 200m;" in text
    assert "@" not in text.replace("$", "")  # every placeholder filled
    assert text.count("{") == text.count("}")


@pytest.mark.parametrize(("listen", "replicas", "words"), [
    ("80", [], "at least one replica"),
    ("80", [A, A], "each address once"),
    ("80", ["localhost"], "expected host:port"),
    ("80", ["127.0.0.1:70000"], "outside 1–65535"),
    ("80; evil", [A], "expected a port"),
    ("80", ["127.0.0.1:8501;}"], "expected host:port"),
])
def test_bad_addresses_are_refused_with_the_form_expected(listen, replicas, words):
    with pytest.raises(ConfigError, match=words):
        render(listen, replicas)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install -y nginx)")
def test_nginx_accepts_the_configuration(tmp_path):
    site = tmp_path / "jetviz.conf"
    site.write_text(render("127.0.0.1:8599", [A, B]))
    (tmp_path / "nginx.conf").write_text(standalone(tmp_path, site))
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
