"""Sending mail through SMTP with Portus's `email.*` keys (portus.md §1.10).

`email.smtp.enabled` must be on: Wharfinger has no sendmail fallback. `ssl_tls` set (to anything
but "") means SMTPS from the first byte; otherwise `enable_starttls_auto` upgrades with STARTTLS
when the server offers it. `openssl_verify_mode: none` turns certificate checks off, as in Portus;
any other value verifies against `ca_file`/`ca_path` or the system CAs. Sending blocks: callers
run `send` in the blocking pool.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from web.settings import Secret, Settings

SMTP_TIMEOUT_SECONDS = 10


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class Mailer:
    sender: str
    sender_name: str
    reply_to: str
    host: str
    port: int
    helo_domain: str
    implicit_tls: bool
    starttls: bool
    verify: bool
    ca_file: str
    ca_path: str
    user_name: str
    password: Secret

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer | None:
        """None when SMTP is off (then nothing can be mailed)."""
        if not settings["email.smtp.enabled"]:
            return None
        return cls(
            sender=str(settings["email.from"]), sender_name=str(settings["email.name"]),
            reply_to=str(settings["email.reply_to"]), host=str(settings["email.smtp.address"]),
            port=int(settings["email.smtp.port"]),
            helo_domain=str(settings["email.smtp.domain"]),
            implicit_tls=bool(str(settings["email.smtp.ssl_tls"]).strip()),
            starttls=bool(settings["email.smtp.enable_starttls_auto"]),
            verify=str(settings["email.smtp.openssl_verify_mode"]).lower() != "none",
            ca_file=str(settings["email.smtp.ca_file"]),
            ca_path=str(settings["email.smtp.ca_path"]),
            user_name=str(settings["email.smtp.user_name"]),
            password=Secret(settings["email.smtp.password"]))

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file or None,
                                             capath=self.ca_path or None)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name, self.sender))
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.helo_domain or None)
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        message.set_content(text)
        return message

    def send(self, message: EmailMessage) -> None:
        """Blocking. MailError (naming the server, never the password) on any failure."""
        try:
            smtp: smtplib.SMTP
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.helo_domain,
                                        timeout=SMTP_TIMEOUT_SECONDS, context=self._context())
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.helo_domain,
                                    timeout=SMTP_TIMEOUT_SECONDS)
            with smtp:
                smtp.ehlo()
                if not self.implicit_tls and self.starttls and smtp.has_extn("starttls"):
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if self.user_name:
                    smtp.login(self.user_name, str(self.password))
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"cannot send mail through {self.host}:{self.port}: "
                            f"{type(e).__name__}") from None
