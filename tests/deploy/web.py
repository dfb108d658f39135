"""A tiny HTTP client for a web process in another process: cookies, CSRF, multipart forms,
and requests marked as HTTPS by a TLS-terminating proxy (X-Forwarded-Proto), so production
settings (secure cookies, SSL redirect, strict CSRF origin checks) apply as in production."""
from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie

HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Browser:
    def __init__(self, base_url: str, *, https: bool = True) -> None:
        self.base_url = base_url
        self.https = https
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect)

    @property
    def origin(self) -> str:
        host = urllib.parse.urlsplit(self.base_url).netloc
        return f"{'https' if self.https else 'http'}://{host}"

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Response:
        headers = {"Referer": self.origin + path, "Origin": self.origin}
        if self.https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            # Sent by hand: the cookies are Secure, and this side of the proxy is plain HTTP.
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as raw:
                response = Response(raw.status, dict(raw.headers), raw.read())
                set_cookies = raw.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as error:
            response = Response(error.code, dict(error.headers), error.read())
            set_cookies = error.headers.get_all("Set-Cookie") or []
        for header in set_cookies:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> Response:
        fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields}
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, data, mime) in (files or {}).items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {mime}\r\n\r\n".encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def login_admin(self, username: str, password: str) -> None:
        self.get("/admin/login/")
        response = self.post_form("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})
        error = re.search(r'<p class="errornote">(.*?)</p>', response.text, re.S)
        assert response.status == 302 and "sessionid" in self.cookies, (response.status, error and error.group(1).strip())

    def hidden_fields(self, path: str) -> dict[str, str]:
        """The hidden inputs of a page's form (formset management data and the like)."""
        response = self.get(path)
        assert response.status == 200, response.text[:2000]
        return {name: value for name, value in HIDDEN_INPUT.findall(response.text) if name != "csrfmiddlewaretoken"}
