"""Who may use the approvals page: whoever holds its token.

The token is random (printed in the URL at start-up) or the content of a password file.
Every request must carry it: as ``?token=`` (the first visit; the page then sets a cookie and
drops it from the address bar), as the cookie, or typed into the sign-in form. The cookie is
``HttpOnly`` and ``SameSite=Strict``, so another site's page cannot send it; each form also
carries a CSRF field (an HMAC of the token under a secret made at start-up) that is checked
on every POST, and a POST whose ``Origin`` is another site is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import attrs

from matterstack.errors import ConfigError

TOKEN_PARAMETER = "token"
CSRF_FIELD = "csrf"
MIN_PASSWORD_CHARS = 12


def read_password_file(path: Path) -> str:
    """The password in ``path`` (its first line); :class:`ConfigError` when it cannot be read
    or is too short to keep anyone out."""
    where = f"--password-file {path}"
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read it: {getattr(exc, 'strerror', None) or exc}", where=where,
                          fix="give a readable text file whose first line is the password") from None
    password = lines[0].strip() if lines else ""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"the password is {len(password)} characters long, fewer than {MIN_PASSWORD_CHARS}",
                          where=where, fix="e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > FILE`")
    return password


@attrs.frozen
class Access:
    """The page's token, and the secret its CSRF fields are made with."""

    token: str = attrs.field(factory=lambda: secrets.token_urlsafe(24), repr=False)
    secret: bytes = attrs.field(factory=lambda: secrets.token_bytes(32), repr=False)

    @property
    def cookie_name(self) -> str:
        """Cookies do not tell ports apart: each token has its own cookie (a hash of it in
        the name), so two servers on one machine do not sign each other out."""
        return "matterstack_approvals_" + hashlib.sha256(b"cookie:" + self.token.encode()).hexdigest()[:8]

    def allows(self, offered: str | None) -> bool:
        """Whether ``offered`` is the token (compared in constant time)."""
        return offered is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    def csrf_value(self) -> str:
        """The CSRF field every form of the page carries."""
        return hmac.new(self.secret, b"csrf:" + self.token.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf_value().encode())
