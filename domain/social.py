"""Stars and comments on repositories (Portus F28, F29), as events.

A star is one small aggregate per (user, repository), its id derived from both, so starring twice
cannot create two stars; toggling records `Starred`/`Unstarred`. A comment is its own aggregate,
posted once and never edited (Portus has no edit), deleted by its author or an admin.
Repositories are addressed by full name (`namespace/name`, or `name` in the global namespace);
a repository recreated in a new namespace of its old one's name starts without stars or comments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain import events
from domain.errors import ForbiddenError, InvalidInputError, NotFoundError
from domain.events import Event
from domain.policy import NamespaceFacts
from domain.repositories import Repository, repository_id
from domain.users import User
from domain.values import Role, Visibility

T = TypeVar("T")
MAX_COMMENT_LENGTH = 4096
_STAR_ROOT = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/stars")


def star_id(user_id: UUID, repository: str, generation: int = 0) -> UUID:
    """A user's star on a repository; on one recreated since (domain.repositories:
    Repository.Recreated), a new star: the old repository's went with it."""
    if generation:
        return uuid5(_STAR_ROOT, f"{user_id}|{repository}|{generation}")
    return uuid5(_STAR_ROOT, f"{user_id}|{repository}")


class Star(Aggregate):
    class Starred(events.Created):
        user_id: UUID
        repository: str

        def apply(self, star: Star) -> None:
            star.user_id, star.repository, star.on = self.user_id, self.repository, True

    class Unstarred(Event):
        def apply(self, star: Star) -> None:
            star.on = False

    class Restarred(Event):
        def apply(self, star: Star) -> None:
            star.on = True

    def __init__(self) -> None:
        self.user_id: UUID | None = None
        self.repository = ""
        self.on = False


class Comment(Aggregate):
    class Posted(events.Created):
        user_id: UUID
        repository: str
        body: str

        def apply(self, comment: Comment) -> None:
            comment.user_id, comment.repository = self.user_id, self.repository
            comment.body = self.body

    class Deleted(Event):
        def apply(self, comment: Comment) -> None:
            comment.deleted = True

    def __init__(self) -> None:
        self.user_id: UUID | None = None
        self.repository = ""
        self.body = ""
        self.deleted = False


def may_comment(admin: bool, ns: NamespaceFacts, role: Role | None) -> None:
    """F29: admins, anyone signed in on a public or protected namespace, members otherwise."""
    if admin or ns.visibility is not Visibility.PRIVATE or role is not None:
        return
    raise ForbiddenError("Only members of the namespace's team may comment here")


def may_delete_comment(admin: bool, user_id: UUID, author_id: UUID | None) -> None:
    """F29: the author or an admin."""
    if not (admin or user_id == author_id):
        raise ForbiddenError("Only the author or an admin may delete a comment")


class SocialCommands:
    """Mixed into `Wharfinger`: stars and comments."""

    if TYPE_CHECKING:  # provided by Wharfinger
        def _get(self, cls: type[T], aggregate_id: UUID) -> T: ...
        def _run(self, command: Callable[[], list[Aggregate]], *,
                 return_recordings: bool = False) -> list[Any]: ...
        def _find(self, cls: type[T], aggregate_id: UUID) -> T | None: ...

    def toggle_star(self, user_id: UUID, repository: str) -> bool:
        """Star or unstar; returns whether the repository is starred afterwards."""
        result: list[bool] = []

        def command() -> list[Aggregate]:
            self._get(User, user_id)
            repo = self._find(Repository, repository_id(repository))
            sid = star_id(user_id, repository, repo.generation if repo is not None else 0)
            try:
                star = self._get(Star, sid)
            except NotFoundError:
                star = Star._create(Star.Starred, id=sid, user_id=user_id,
                                    repository=repository)
            else:
                star.trigger_event(Star.Unstarred if star.on else Star.Restarred)
            result[:] = [star.on]
            return [star]

        self._run(command)
        return result[0]

    def post_comment(self, user_id: UUID, repository: str, body: str) -> UUID:
        body = body.strip()
        if not body:
            raise InvalidInputError("can't be blank", field="body")
        if len(body) > MAX_COMMENT_LENGTH:
            raise InvalidInputError(
                f"is too long (maximum is {MAX_COMMENT_LENGTH} characters)", field="body")

        def command() -> list[Aggregate]:
            self._get(User, user_id)
            return [Comment._create(Comment.Posted, id=uuid4(), user_id=user_id,
                                    repository=repository, body=body)]

        comment = self._run(command)[0]
        assert isinstance(comment, Comment)
        return comment.id

    def delete_comment(self, comment_id: UUID, *, by: UUID, admin: bool) -> None:
        def command() -> list[Aggregate]:
            comment = self._get(Comment, comment_id)
            if comment.deleted:
                raise NotFoundError("comment not found", field="comment")
            may_delete_comment(admin, by, comment.user_id)
            comment.trigger_event(Comment.Deleted)
            return [comment]

        self._run(command)
