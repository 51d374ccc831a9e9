"""The deployment examples in docs/deploy hold together with the code: every command in
the systemd units is a real `dibao` command with valid options, every setting they give
passes the configuration's checks, the hardening is there, and where the machine has
them, `systemd-analyze verify` and `nginx -t` accept the files (`make deploy-check`
fetches nginx from Debian's archive and unpacks it, never installs or starts it)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from gateway.cli import app
from gateway.config import load_settings
from tests.certs import Authority

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
NGINX_CONF = DEPLOY / "nginx.conf"
INSTALLED = "/opt/dibao/.venv/bin/dibao"
DIBAO = str(Path(sys.executable).parent / "dibao")
UNPACKED = ROOT / ".cache" / "deploy" / "root"
HARDENING = {
    "ProtectSystem": "strict",
    "NoNewPrivileges": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectHome": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
    "UMask": "0077",
}


def directives(unit: Path) -> dict[str, list[str]]:
    """Key to values in file order (systemd allows a key more than once)."""
    found: dict[str, list[str]] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def commands(unit: Path) -> list[list[str]]:
    found = directives(unit)
    return [shlex.split(c) for key in ("ExecStartPre", "ExecStart") for c in found.get(key, [])]


def environment(unit: Path) -> dict[str, str]:
    env = dict(v.split("=", 1) for v in directives(unit).get("Environment", []))
    for line in (DEPLOY / "dibao.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def test_there_are_units_and_they_are_checked() -> None:
    assert [u.name for u in UNITS] == ["dibao-partners.service", "dibao.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_every_command_is_a_real_dibao_command_with_valid_options(unit: Path) -> None:
    group = typer.main.get_command(app)
    for argv in commands(unit):
        assert argv[0] == INSTALLED, argv
        name, rest = argv[1], argv[2:]
        command = getattr(group, "commands", {}).get(name)
        assert command is not None, f"dibao {name} is no command"
        # parses and type-checks the options exactly as `dibao` would, without running
        command.make_context(name, list(rest))
        # wide enough that the help's table never cuts a long option's name
        shown = subprocess.run(
            [DIBAO, name, "--help"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "COLUMNS": "240"},
        )
        assert shown.returncode == 0, shown.stderr
        for option in (a for a in rest if a.startswith("--")):
            assert option in shown.stdout, f"{option} is not an option of dibao {name}"


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_the_settings_of_the_unit_pass_the_configuration(unit: Path) -> None:
    env = environment(unit)
    settings = load_settings(environ=env)
    assert settings.is_postgres
    writable = directives(unit)["ReadWritePaths"][0].split()
    for path in (settings.key_file, settings.anchor_file, settings.document_dir):
        assert path is not None
        assert any(Path(path).is_relative_to(w) for w in writable), path
    # the key file and the anchors are kept apart (docs/audit.md)
    assert settings.anchor_file is not None
    assert settings.anchor_file.parent != settings.key_file.parent


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_the_unit_is_hardened(unit: Path) -> None:
    found = directives(unit)
    assert found.get("User", ["root"])[0] not in {"root", "0"} or found.get("DynamicUser")
    for key, value in HARDENING.items():
        assert found.get(key) == [value], key
    assert "DIBAO_DATABASE_URL" not in unit.read_text(encoding="utf-8"), "a secret in the unit"


def test_the_proxy_and_the_units_agree() -> None:
    conf = NGINX_CONF.read_text(encoding="utf-8")
    plain = next(c for u in UNITS if u.name == "dibao.service" for c in commands(u) if "serve" in c)
    tls = next(
        c for u in UNITS if u.name == "dibao-partners.service" for c in commands(u) if "serve" in c
    )

    def option(argv: list[str], name: str) -> str:
        return argv[argv.index(name) + 1]

    upstream = re.search(r"upstream dibao \{\s*server ([\d.]+):(\d+);", conf)
    assert upstream is not None
    assert (option(plain, "--host"), option(plain, "--port")) == upstream.groups()
    # nginx is the one proxy believed, and it replaces the client's header
    assert option(plain, "--forwarded-allow-ips") == upstream.group(1)
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf
    # client certificates reach the service on its own TLS connection
    stream = re.search(r"stream \{.*?proxy_pass ([\d.]+):(\d+);", conf, re.S)
    assert stream is not None
    assert (option(tls, "--host"), option(tls, "--port")) == stream.groups()
    assert "--client-ca" in tls
    assert "--forwarded-allow-ips" not in tls  # nobody forwards to it: the peer is the peer


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    for unit in UNITS:
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text(encoding="utf-8").replace(INSTALLED, DIBAO))
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / u.name) for u in UNITS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # unknown keys and bad values are only warnings: any output is a failure here
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def _nginx() -> tuple[str, str | None] | None:
    if (UNPACKED / "usr" / "sbin" / "nginx").exists():
        module = UNPACKED / "usr" / "lib" / "nginx" / "modules" / "ngx_stream_module.so"
        return str(UNPACKED / "usr" / "sbin" / "nginx"), str(module)
    found = shutil.which("nginx")
    return (found, None) if found else None


@pytest.mark.skipif(_nginx() is None, reason="no nginx: `make deploy-check` fetches it")
def test_nginx_accepts_the_proxy_configuration(tmp_path: Path) -> None:
    found = _nginx()
    assert found is not None
    binary, module = found
    authority = Authority(tmp_path)
    server = authority.issue("server", server=True)
    text = NGINX_CONF.read_text(encoding="utf-8")
    if module is not None:  # unpacked, not installed: load the stream module by path
        text = re.sub(
            r"include /etc/nginx/modules-enabled/\*\.conf;.*", f"load_module {module};", text
        )
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = (
        text.replace("/etc/nginx/tls/dibao.pem", str(server.cert))
        .replace("/etc/nginx/tls/dibao.key", str(server.key))
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("/run/nginx.pid", str(tmp_path / "nginx.pid"))
        .replace("http {", "http {\n    " + temp, 1)
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [binary, "-t", "-q", "-p", f"{tmp_path}/", "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
