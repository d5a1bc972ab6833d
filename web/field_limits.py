"""How long each text field may be, the same on every way in: the REST API's bodies and the
console's forms both read these numbers, so a page never refuses what the API takes, nor takes
what it refuses. They cap what is read; the domain's own checks (names, emails, passwords) apply
after, with their own messages."""

from __future__ import annotations

from domain.names import MAX_NAMESPACE_LENGTH, MAX_USERNAME_LENGTH
from domain.social import MAX_COMMENT_LENGTH
from domain.values import MAX_DESCRIPTION_LENGTH

USERNAME = MAX_USERNAME_LENGTH
EMAIL = 254  # RFC 5321's longest path; domain.names.check_email refuses longer anyway
DISPLAY_NAME = 255
PASSWORD = 1024  # read up to this; web.passwords.check_new_password has the real maximum
TEAM_NAME = 255
NAMESPACE_NAME = MAX_NAMESPACE_LENGTH
APPLICATION = 255  # an application token's name
REGISTRY_NAME = REGISTRY_HOSTNAME = 255
DESCRIPTION = MAX_DESCRIPTION_LENGTH
COMMENT = MAX_COMMENT_LENGTH
OTHER = 1024  # anything else: a role, a confirmation, a visibility

__all__ = ["APPLICATION", "COMMENT", "DESCRIPTION", "DISPLAY_NAME", "EMAIL", "NAMESPACE_NAME",
           "OTHER", "PASSWORD", "REGISTRY_HOSTNAME", "REGISTRY_NAME", "TEAM_NAME", "USERNAME"]
