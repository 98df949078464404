"""Signing in to the console: passwords, the attempt limiter, sign-out, the one-time login URL,
proxy mode, API tokens, roles and CSRF, through the real app (Starlette's TestClient)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from bidagent.console.users import add_user, issue_token, remove_user
from bidagent.store.types import utcnow
from tests.console.conftest import PASSWORD, ConsoleWorld, csrf_of, sign_in, state_of


def _login(client: TestClient, name: str, password: str) -> tuple[int, str | None]:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"}
    )
    return response.status_code, response.headers.get("retry-after")


def test_signed_out_pages_redirect_to_login_and_the_api_answers_401(
    console: Callable[..., TestClient],
) -> None:
    """A page sends a signed-out browser to the login form (coming back after); the API says 401."""
    client = console()
    page = client.get("/?days=60&profile=1")
    api = client.get("/api/me")
    assert (page.status_code, page.headers["location"]) == (
        302,
        "/login?next=%2F%3Fdays%3D60%26profile%3D1",
    )
    assert (api.status_code, api.json(), api.headers["www-authenticate"]) == (
        401,
        {"detail": "sign in first"},
        "Bearer",
    )


def test_a_right_password_signs_in_and_returns_to_next(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """The login form with a right password starts a session, back to ``next``; the cookie is
    HttpOnly and SameSite=Lax."""
    client = console()
    token = csrf_of(client.get("/login?next=/api/me").text)
    response = client.post(
        "/login",
        data={"name": "approver", "password": PASSWORD, "csrf_token": token, "next": "/api/me"},
    )
    assert (response.status_code, response.headers["location"]) == (303, "/api/me")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/api/me").json() == {
        "name": "approver", "role": "approver", "via": "password", "may": ["viewer", "approver"],
    }  # fmt: skip


def test_an_offsite_next_goes_home(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """``next`` pointing at another site is ignored: no open redirect."""
    client = console()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"name": "viewer", "password": PASSWORD, "csrf_token": token,
              "next": "//evil.example/"},
    )  # fmt: skip
    assert (response.status_code, response.headers["location"]) == (303, "/")


def test_https_public_url_makes_the_cookie_secure(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """Behind an https public URL the session cookie carries Secure."""
    client = console(public_url="https://bidagent.example.com", base_url="https://testserver")
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"name": "viewer", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_or_name_is_refused_alike(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """A wrong password and an unknown name both get 401 and the same message; nobody is
    signed in."""
    client = console()
    wrong = client.post(
        "/login",
        data={"name": "admin", "password": "not it at all",
              "csrf_token": csrf_of(client.get("/login").text)},
    )  # fmt: skip
    unknown = client.post(
        "/login",
        data={"name": "nobody", "password": PASSWORD,
              "csrf_token": csrf_of(client.get("/login").text)},
    )  # fmt: skip
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert "Wrong name or password." in wrong.text and "Wrong name or password." in unknown.text
    assert client.get("/api/me").status_code == 401


def test_failed_attempts_are_limited_per_user(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """After five failures for one name, the sixth attempt (even with the right password) gets
    429 with Retry-After; another name from another address is not held up."""
    client = console()
    results = [_login(client, "admin", f"guess-{n}") for n in range(5)]
    assert results == [(401, None)] * 5
    status, retry_after = _login(client, "admin", PASSWORD)
    assert status == 429
    assert retry_after is not None and 1 <= int(retry_after) <= 15 * 60
    other = TestClient(client.app, client=("192.0.2.9", 1234), follow_redirects=False)
    assert _login(other, "viewer", PASSWORD) == (303, None)
    other.close()


def test_failed_attempts_are_limited_per_address(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """Five failures from one address over different names block that address for every name."""
    client = console(login_attempts=5)
    assert [_login(client, f"name{n}", "wrong password") for n in range(5)] == [(401, None)] * 5
    assert _login(client, "viewer", PASSWORD)[0] == 429


def test_sign_out_ends_the_session(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """After signing out, pages redirect to the login form again."""
    client = console()
    token = sign_in(client, "viewer")
    response = client.post("/logout", data={"csrf_token": token})
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert client.get("/").status_code == 302


def test_removing_a_user_ends_their_sessions(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A removed user's cookie no longer signs anyone in; re-adding the name does not revive it."""
    client = console()
    sign_in(client, "viewer")
    assert client.get("/").status_code == 200
    remove_user(console_world.agent.engine, "viewer")
    add_user(console_world.agent.engine, "viewer", "admin", "another password", now=utcnow())
    assert client.get("/").status_code == 302


def test_the_login_token_signs_in_once_as_bootstrap_admin(
    console: Callable[..., TestClient],
) -> None:
    """With no user, the one-time token signs in as an admin of this process; the same URL a
    second time is refused."""
    client = console()
    token = state_of(client).auth.issue_login_token()
    assert token is not None
    response = client.get(f"/login?token={token}")
    assert (response.status_code, response.headers["location"]) == (303, "/")
    assert client.get("/api/me").json()["name"] == "bootstrap-admin"
    again = TestClient(client.app, follow_redirects=False)
    refused = again.get(f"/login?token={token}")
    assert refused.status_code == 403
    assert "wrong or was used already" in refused.text
    assert again.get("/api/me").status_code == 401
    again.close()


def test_no_login_token_once_a_user_exists(
    console: Callable[..., TestClient], console_world: ConsoleWorld
) -> None:
    """A token issued while no user existed stops working when one is added; a process with
    users issues none."""
    client = console()
    token = state_of(client).auth.issue_login_token()
    assert token is not None
    add_user(console_world.agent.engine, "ann", "admin", PASSWORD, now=utcnow())
    assert client.get(f"/login?token={token}").status_code == 403
    assert state_of(client).auth.issue_login_token() is None
    assert client.get("/login?token=").status_code == 403


def test_a_bootstrap_session_is_this_process_only(
    console: Callable[..., TestClient],
) -> None:
    """The bootstrap admin's cookie means nothing to another console process (another app)."""
    client = console()
    token = state_of(client).auth.issue_login_token()
    client.get(f"/login?token={token}")
    cookie = client.cookies["bidagent_session"]
    other = console()
    other.cookies["bidagent_session"] = cookie
    assert other.get("/api/me").status_code == 401


def test_proxy_mode_trusts_the_header_only_from_the_proxy(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """From a trusted proxy the header names the user (role from the table); from anywhere else
    the request is refused, header or not; a name that is no user is refused; no header is 401."""
    settings = {
        "auth": "proxy",
        "trusted_proxies": ["10.1.0.0/16"],
        "proxy_header": "X-Remote-User",
    }
    proxied = console(client=("10.1.2.3", 443), **settings)
    direct = console(client=("192.0.2.7", 443), **settings)
    assert proxied.get("/api/me", headers={"X-Remote-User": "approver"}).json()["via"] == "proxy"
    assert proxied.get("/", headers={"X-Remote-User": "approver"}).status_code == 200
    refused = direct.get("/api/me", headers={"X-Remote-User": "admin"})
    assert (refused.status_code, refused.json()) == (
        403, {"detail": "requests must come through the trusted proxy; 192.0.2.7 is not one"},
    )  # fmt: skip
    assert direct.get("/", headers={"X-Remote-User": "admin"}).status_code == 403
    stranger = proxied.get("/api/me", headers={"X-Remote-User": "mallory"})
    assert stranger.status_code == 403
    assert proxied.get("/api/me").status_code == 401
    assert proxied.get("/").status_code == 401


def test_api_tokens_sign_in_scripts(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A user's API token signs requests in as them; a new token replaces the old one; an
    unknown token is 401."""
    client = console()
    first = issue_token(console_world.agent.engine, "approver", now=utcnow())
    me = client.get("/api/me", headers={"Authorization": f"Bearer {first}"})
    assert (me.status_code, me.json()["name"], me.json()["via"]) == (200, "approver", "token")
    second = issue_token(console_world.agent.engine, "approver", now=utcnow())
    assert client.get("/api/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert client.get("/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_state_changes_need_the_csrf_token(
    console: Callable[..., TestClient], people: dict[str, str], console_world: ConsoleWorld
) -> None:
    """A POST without the session's CSRF token (or with another session's) is refused with 403
    and changes nothing; with it, the same POST works."""
    client = console()
    token = sign_in(client, "admin")
    other = console()
    other_token = sign_in(other, "viewer")
    missing = client.post("/kill-switch", data={"action": "pause"})
    foreign = client.post("/kill-switch", data={"action": "pause", "csrf_token": other_token})
    header = client.post(
        "/kill-switch", data={"action": "pause"}, headers={"X-CSRF-Token": "0" * 64}
    )
    assert [r.status_code for r in (missing, foreign, header)] == [403, 403, 403]
    assert "CSRF token is missing or wrong" in missing.text
    assert 'data-paused="false"' in client.get("/").text
    done = client.post("/kill-switch", data={"action": "pause"}, headers={"X-CSRF-Token": token})
    assert done.status_code == 303
    assert 'data-paused="true"' in client.get("/").text


def test_the_login_form_needs_its_csrf_token(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """A login POST without the form's CSRF token is refused before any password check."""
    client = console()
    client.get("/login")
    response = client.post("/login", data={"name": "admin", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_sessions_survive_a_restart(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """The generated session key is kept in the ledger: a cookie from one console process signs
    in to the next one on the same database (and its CSRF token still holds)."""
    first = console()
    token = sign_in(first, "admin")
    restarted = console()
    restarted.cookies["bidagent_session"] = first.cookies["bidagent_session"]
    assert restarted.get("/api/me").json()["name"] == "admin"
    assert (
        restarted.post("/kill-switch", data={"action": "pause", "csrf_token": token}).status_code
        == 303
    )


def test_a_configured_session_secret_signs_instead(
    console: Callable[..., TestClient], people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With BIDAGENT_CONSOLE__SESSION_SECRET set, cookies signed with the generated key no
    longer sign anyone in."""
    generated = console()
    sign_in(generated, "viewer")
    monkeypatch.setenv("BIDAGENT_CONSOLE__SESSION_SECRET", "a configured secret of some length")
    configured = console(port=0)
    configured.cookies["bidagent_session"] = generated.cookies["bidagent_session"]
    assert configured.get("/api/me").status_code == 401
    sign_in(configured, "viewer")
    assert configured.get("/api/me").status_code == 200


def test_pages_carry_security_headers(
    console: Callable[..., TestClient], people: dict[str, str]
) -> None:
    """Every page says: scripts from the console only, no framing, no sniffing, no caching."""
    client = console()
    sign_in(client, "viewer")
    headers = client.get("/").headers
    assert headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert headers["cache-control"] == "no-store"
