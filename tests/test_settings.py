"""Settings: where the file comes from, what overrides what, and how mistakes are reported."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from bidagent.errors import ConfigError
from bidagent.settings import AdsSettings, Settings, load_settings
from bidagent.settings.root import FILE_REFUSED_SECRETS

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file_run_the_sandbox(tmp_path: Path) -> None:
    """With no file anywhere, the built-in defaults apply: sandbox source, apply mode."""
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.config_file is None
    assert (settings.ads.source, settings.effective_mode, settings.database.url) == (
        "sandbox",
        "apply",
        "sqlite:///bidagent.db",
    )


def test_file_source_order(tmp_path: Path) -> None:
    """CLI path beats $BIDAGENT_CONFIG, which beats ./bidagent.toml, which beats the defaults."""
    cli = _write(tmp_path / "cli.toml", 'rules_dir = "from-cli"\n')
    env = _write(tmp_path / "env.toml", 'rules_dir = "from-env"\n')
    _write(tmp_path / "bidagent.toml", 'rules_dir = "from-cwd"\n')
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in ("from-cli", "from-env", "from-cwd"):  # a rules_dir that is set must exist
        (Path.cwd() / folder).mkdir()
    environ = {"BIDAGENT_CONFIG": str(env)}

    def rules_dir(path: Path | None, environ: dict[str, str], cwd: Path) -> tuple[str, Any]:
        settings = load_settings(path, environ=environ, cwd=cwd)
        return str(settings.rules_dir), settings.config_file

    assert rules_dir(cli, environ, tmp_path) == ("from-cli", cli)
    assert rules_dir(None, environ, tmp_path) == ("from-env", env)
    assert rules_dir(None, {}, tmp_path) == ("from-cwd", tmp_path / "bidagent.toml")
    assert rules_dir(None, {}, empty) == ("rules", None)


def test_local_file_is_found_from_the_working_directory(tmp_path: Path) -> None:
    """Without arguments, ./bidagent.toml in the process's working directory is read."""
    _write(Path.cwd() / "bidagent.toml", "[logging]\nlevel = 'DEBUG'\n")
    assert load_settings().logging.level == "DEBUG"


def test_environment_beats_the_file_and_merges_with_it(tmp_path: Path) -> None:
    """BIDAGENT_DATABASE__URL wins over the file's url; the file's other keys stay."""
    path = _write(
        tmp_path / "c.toml", '[database]\nurl = "sqlite:///file.db"\nbusy_timeout_ms = 5\n'
    )
    settings = load_settings(
        path, environ={"BIDAGENT_DATABASE__URL": "postgresql+psycopg://u@h/db"}
    )
    assert (settings.database.url, settings.database.busy_timeout_ms) == (
        "postgresql+psycopg://u@h/db",
        5,
    )


def test_process_environment_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an explicit mapping, os.environ is used."""
    monkeypatch.setenv("BIDAGENT_DATABASE__URL", "sqlite:///env.db")
    path = _write(tmp_path / "c.toml", '[database]\nurl = "sqlite:///file.db"\n')
    assert load_settings(path).database.url == "sqlite:///env.db"


def test_unknown_key_in_file_names_key_and_file(tmp_path: Path) -> None:
    """A misspelt key is an error that names the dotted key and the file."""
    path = _write(tmp_path / "c.toml", "[guardrails]\nmax_stepp = 0.2\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == f"{path}: unknown key 'guardrails.max_stepp'"
    assert (caught.value.file, caught.value.key) == (path, "guardrails.max_stepp")


def test_unknown_top_level_section_is_an_error(tmp_path: Path) -> None:
    """A misspelt section name is refused too, not silently ignored."""
    path = _write(tmp_path / "c.toml", "[guardrail]\nmax_step = 0.2\n")
    with pytest.raises(ConfigError, match=r"unknown key 'guardrail'"):
        load_settings(path, environ={})


def test_unknown_environment_variable_names_the_variable(tmp_path: Path) -> None:
    """A BIDAGENT_ variable that names no setting is an error naming it."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"BIDAGENT_DATABASE__URLL": "x"}, cwd=tmp_path)
    assert "BIDAGENT_DATABASE__URLL" in str(caught.value)
    assert caught.value.key == "BIDAGENT_DATABASE__URLL"


def test_bad_duration_names_key_and_expected_form(tmp_path: Path) -> None:
    """A duration in the wrong form says which key and what form is expected."""
    path = _write(tmp_path / "c.toml", '[guardrails]\ncooldown = "3 days"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert message.startswith(f"{path}: key 'guardrails.cooldown': ")
    assert "expected a whole number and a unit d, h, m or s" in message
    assert caught.value.key == "guardrails.cooldown"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error is reported with the file."""
    path = _write(tmp_path / "c.toml", "[database\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not valid TOML")):
        load_settings(path, environ={})


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    """A --config path that does not exist is an error, not a silent fall back to defaults."""
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_secrets_folder_supplies_secrets_and_env_beats_it(tmp_path: Path) -> None:
    """Docker-style secret files fill SecretStr fields; an environment variable wins over them."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    _write(secrets / "ads__client_secret", "from-file-secret\n")
    _write(secrets / "BIDAGENT_ADS__REFRESH_TOKEN", "Atzr|from-file\n")
    _write(secrets / "unrelated", "ignored")
    environ = {
        "BIDAGENT_SECRETS_DIR": str(secrets),
        "BIDAGENT_ADS__SOURCE": "amazon",
        "BIDAGENT_ADS__CLIENT_ID": "amzn1.application-oa2-client.x",
        "BIDAGENT_ADS__REFRESH_TOKEN": "Atzr|from-env",
    }
    settings = load_settings(environ=environ, cwd=tmp_path)
    assert settings.ads.client_secret is not None
    assert settings.ads.refresh_token is not None
    assert (
        settings.ads.client_secret.get_secret_value(),
        settings.ads.refresh_token.get_secret_value(),
    ) == ("from-file-secret", "Atzr|from-env")


def test_secrets_are_masked_when_dumped(tmp_path: Path) -> None:
    """SecretStr values never appear in model_dump, repr or JSON output."""
    settings = load_settings(
        environ={"BIDAGENT_ADS__CLIENT_SECRET": "very-secret-value"}, cwd=tmp_path
    )
    assert isinstance(settings.model_dump()["ads"]["client_secret"], SecretStr)
    assert settings.model_dump(mode="json")["ads"]["client_secret"] == "**********"
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in settings.model_dump_json()


def test_amazon_source_without_credentials_is_an_error(tmp_path: Path) -> None:
    """ads.source = "amazon" lists every missing credential and how to provide it."""
    path = _write(tmp_path / "c.toml", '[ads]\nsource = "amazon"\nclient_id = "id"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "ads.source = 'amazon' needs ads.client_secret, ads.refresh_token" in message
    assert message.startswith(f"{path}: ")


def test_amazon_source_defaults_to_dry_run(tmp_path: Path) -> None:
    """On a real account the global mode is dry_run until the operator says otherwise."""
    environ = {
        "BIDAGENT_ADS__SOURCE": "amazon",
        "BIDAGENT_ADS__CLIENT_ID": "id",
        "BIDAGENT_ADS__CLIENT_SECRET": "s",
        "BIDAGENT_ADS__REFRESH_TOKEN": "Atzr|t",
    }
    assert load_settings(environ=environ, cwd=tmp_path).effective_mode == "dry_run"


@pytest.mark.parametrize(
    ("source", "base_url", "backend"),
    [
        ("sandbox", None, "sandbox"),
        ("sandbox", "http://127.0.0.1:8765", "remote_sandbox"),
        ("amazon", None, "amazon"),
        ("amazon", "https://advertising-api-test.amazon.com", "amazon"),
    ],
)
def test_ads_backend_reads_source_and_base_url_together(
    source: str, base_url: str | None, backend: str
) -> None:
    """``backend``: in-process sandbox without a URL, remote sandbox with one, Amazon either way."""
    ads = AdsSettings.model_validate({"source": source, "base_url": base_url})
    assert ads.backend == backend


def test_numeric_profile_ids_are_kept_as_text(tmp_path: Path) -> None:
    """Profile ids written as TOML integers become exact strings (they exceed 2**53)."""
    path = _write(tmp_path / "c.toml", "[[profiles]]\nprofile_id = 3000000000000000001\n")
    assert load_settings(path, environ={}).profiles[0].profile_id == "3000000000000000001"


# ----- config.example.toml: it must load, equal the defaults, and cover every key -----

_COMMENTED_KEY = re.compile(r"^#\s?((?:[a-z_][a-z0-9_]*) = .+|\[\[?[a-z_.]+\]\]?)\s*$")


def _uncommented_example() -> str:
    """The example with every commented-out key and table header switched on."""
    lines = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = _COMMENTED_KEY.match(line)
        lines.append(match.group(1) if match else line)
    return "\n".join(lines) + "\n"


def _dotted_keys(data: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            keys.add(prefix + key)
            keys |= _dotted_keys(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for item in data:
            keys |= _dotted_keys(item, prefix)
    return keys


def _model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        keys.add(prefix + name)
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        for candidate in (annotation, *inner):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys |= _model_keys(candidate, f"{prefix}{name}.")
    return keys


def _env_var(dotted: str) -> str:
    return "BIDAGENT_" + dotted.replace(".", "__").upper()


def test_example_config_loads_and_equals_the_defaults(tmp_path: Path) -> None:
    """config.example.toml validates, and every value in it is the built-in default."""
    example = load_settings(EXAMPLE, environ={})
    defaults = load_settings(environ={}, cwd=tmp_path)
    assert example.model_dump(exclude={"config_file"}) == defaults.model_dump(
        exclude={"config_file"}
    )


def test_example_config_documents_every_key(tmp_path: Path) -> None:
    """Every setting, nested ones included, appears in the example (set or commented out)."""
    documented = _dotted_keys(tomllib.loads(_uncommented_example()))
    # Secrets the file may not hold are documented by the variable that sets them instead.
    assert _model_keys(Settings) - documented == set(FILE_REFUSED_SECRETS)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert [k for k in FILE_REFUSED_SECRETS if _env_var(k) not in text] == []
    assert documented - _model_keys(Settings) <= {
        "profiles.campaign_target_acos.SP Brand",
        "profiles.campaign_target_acos.SP Kettles",
    }


def test_example_config_commented_examples_are_valid(tmp_path: Path) -> None:
    """Switching on every commented-out example still gives a valid configuration."""
    path = _write(tmp_path / "all.toml", _uncommented_example())
    settings = load_settings(path, environ={})
    assert settings.mode == "dry_run"
    assert [p.profile_id for p in settings.profiles] == ["1234567890123456"]
    assert [w.name for w in settings.notify.webhooks] == ["ops"]


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[http]\nport = 9108\n", {},
         "key 'http.port' has moved to 'console.port' (the console's app serves /healthz and /metrics)"),
        ('[http]\nhost = "0.0.0.0"\nport = 9108\n', {},
         "key 'http.host' has moved to 'console.host' (the console's app serves /healthz and "
         "/metrics); key 'http.port' has moved to 'console.port'"),
        ("", {"BIDAGENT_HTTP__PORT": "9108"},
         "environment variable BIDAGENT_HTTP__PORT: key 'http.port' has moved to 'console.port'"),
    ],
)  # fmt: skip
def test_the_removed_http_section_names_its_new_keys(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    """[http] host/port moved to [console]: the error says where, not just "unknown key"."""
    path = _write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ=environ)
    assert message in str(raised.value)


def test_console_settings_are_checked(tmp_path: Path) -> None:
    """Proxy mode needs trusted proxies, which must be addresses; public_url must be http(s);
    the session secret is refused in the file."""
    cases = {
        '[console]\nauth = "proxy"\n': 'auth = "proxy" needs trusted_proxies',
        '[console]\ntrusted_proxies = ["proxy.local"]\n': "'proxy.local' is not an IP address",
        '[console]\npublic_url = "bidagent.example.com"\n': "expected an http:// or https:// URL",
        '[console]\nsession_secret = "abc"\n': "BIDAGENT_CONSOLE__SESSION_SECRET",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError) as raised:
            load_settings(_write(tmp_path / "c.toml", text), environ={})
        assert message in str(raised.value), text
    good = load_settings(
        _write(tmp_path / "ok.toml", '[console]\nport = 8080\nauth = "proxy"\n'
               'trusted_proxies = ["10.0.0.0/8", "::1"]\npublic_url = "https://b.example/"\n'),
        environ={},
    )  # fmt: skip
    assert (good.console.port, good.console.public_url) == (8080, "https://b.example")
