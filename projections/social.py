"""Stars and comments by repository: a fold of `Star` and `Comment` events (domain.social)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.repositories import Repository
from domain.social import Comment, Star
from eventstore.reader import LoggedEvent


@dataclass
class CommentRecord:
    id: UUID
    user_id: UUID
    repository: str
    body: str
    posted_at: datetime


@dataclass
class Social:
    position: int = 0
    stars: dict[str, set[UUID]] = field(default_factory=dict)
    comments: dict[str, dict[UUID, CommentRecord]] = field(default_factory=dict)
    _star_owner: dict[UUID, tuple[UUID, str]] = field(default_factory=dict)
    _comment_repository: dict[UUID, str] = field(default_factory=dict)

    def starred_by(self, user_id: UUID) -> set[str]:
        return {repo for repo, users in self.stars.items() if user_id in users}

    def comments_on(self, repository: str) -> list[CommentRecord]:
        return sorted(self.comments.get(repository, {}).values(), key=lambda c: c.posted_at)

    def apply(self, logged: LoggedEvent) -> None:
        e = logged.event
        if isinstance(e, Star.Starred):
            self._star_owner[e.originator_id] = (e.user_id, e.repository)
            self.stars.setdefault(e.repository, set()).add(e.user_id)
        elif isinstance(e, Star.Restarred | Star.Unstarred):
            owner = self._star_owner.get(e.originator_id)
            if owner is None:  # a star on a repository since recreated: gone with it
                self.position = logged.position
                return
            user_id, repository = owner
            users = self.stars.setdefault(repository, set())
            if isinstance(e, Star.Restarred):
                users.add(user_id)
            else:
                users.discard(user_id)
        elif isinstance(e, Comment.Posted):
            self._comment_repository[e.originator_id] = e.repository
            self.comments.setdefault(e.repository, {})[e.originator_id] = CommentRecord(
                e.originator_id, e.user_id, e.repository, e.body, e.timestamp)
        elif isinstance(e, Comment.Deleted):
            repository = self._comment_repository.get(e.originator_id, "")
            self.comments.get(repository, {}).pop(e.originator_id, None)
        elif isinstance(e, Repository.Recreated):
            self._forget(e.full_name)
        self.position = logged.position

    def _forget(self, repository: str) -> None:
        """A repository recreated in a new namespace of its old one's name: its stars and
        comments went with the old one (as Portus deletes them with the repository)."""
        self.stars.pop(repository, None)
        for comment_id in self.comments.pop(repository, {}):
            self._comment_repository.pop(comment_id, None)
        for star, (_, starred) in list(self._star_owner.items()):
            if starred == repository:
                del self._star_owner[star]
