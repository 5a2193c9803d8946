import base64
import binascii
import re
from datetime import UTC, datetime

from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
MAX_ID = 2**63 - 1
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


def whole_number(request, name: str, default: int) -> int:
    """A query parameter that must be a whole number from 1: 400 naming it otherwise (DRF would quietly use
    its default for a `page_size` it cannot read)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
        raise ValidationError({name: ["Enter a whole number from 1."]})
    return int(raw)


def page_size_parameter(default: int, most: int) -> dict:
    return {
        "name": "page_size",
        "required": False,
        "in": "query",
        "description": f"Results per page: {default} unless given; more than {most} gives {most}.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1},
    }


class PageNumberWithSize(PageNumberPagination):
    """`?page=2&page_size=100`; at most 200 rows a page so one call stays cheap.

    Both are whole numbers from 1, refused with 400 otherwise; a page past the last one is 404, as in DRF.
    """

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    last_page_strings = ()  # the schema says `page` is a number: no `?page=last`

    def get_page_number(self, request, paginator):
        return whole_number(request, self.page_query_param, default=1)

    def get_page_size(self, request):
        return min(whole_number(request, self.page_size_query_param, default=self.page_size), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] |= {"minimum": 1, "maximum": 10**18 - 1}
        parameters[-1] = page_size_parameter(self.page_size, self.max_page_size)
        return parameters


class NewestFirstCursor(BasePagination):
    """Newest first, `?page_size=` rows a page (50 unless given, at most 200), and `next` / `previous` links
    that carry a `cursor`.

    A keyset on (`created_at`, `id`): a page is one read of an index range, page_size + 1 rows however
    deep it is, with no COUNT(*) of the whole list, and rows added meanwhile never shift a page. A cursor
    not taken from a link is refused with 400. That read takes only the keys; the view's `page_rows(ids)`
    then reads the page's rows, in the order of `ids`, by primary key: a read of one shape whatever the
    filters and the cursor, so it can be compiled once (common.compiled).
    """

    page_size, max_page_size = PAGE_SIZE, MAX_PAGE_SIZE
    cursor_query_param, page_size_query_param = "cursor", "page_size"
    invalid_cursor = "This cursor is not one we made: follow the `next` or `previous` link of a page."

    def paginate_queryset(self, queryset, request, view=None):
        size = min(whole_number(request, self.page_size_query_param, default=self.page_size), self.max_page_size)
        position = self._decode(request.query_params.get(self.cursor_query_param))
        backwards = position is not None and position[0]
        if position is not None:
            queryset = queryset.filter(_beyond(*position))
        ordering = ("created_at", "id") if backwards else ("-created_at", "-id")
        keys = list(queryset.order_by(*ordering).values_list("created_at", "pk")[: size + 1])
        more, keys = len(keys) > size, keys[:size]
        if backwards:
            keys.reverse()
        # Going forwards from a cursor, or backwards, there are rows on the side we came from.
        has_next, has_previous = (True, more) if backwards else (more, position is not None)
        url = request.build_absolute_uri()
        # An empty page past either end links back to where its cursor pointed.
        self.next = self._link(url, False, *(keys[-1] if keys else position[1:])) if has_next else None
        self.previous = self._link(url, True, *(keys[0] if keys else position[1:])) if has_previous else None
        return view.page_rows([pk for _, pk in keys])

    def get_paginated_response(self, data):
        return Response({"next": self.next, "previous": self.previous, "results": data})

    def _link(self, url: str, backwards: bool, created_at: datetime, pk: int) -> str:
        raw = f"{'p' if backwards else 'n'}|{created_at.isoformat()}|{pk}".encode()
        return replace_query_param(url, self.cursor_query_param, base64.urlsafe_b64encode(raw).decode().rstrip("="))

    def _decode(self, cursor: str | None) -> tuple[bool, datetime, int] | None:
        """(backwards?, created_at, id) of a cursor from one of our links; 400 for anything else."""
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
            direction, created_at, pk = raw.split("|")
            moment = datetime.fromisoformat(created_at)
            position = (direction == "p", moment.astimezone(UTC) if moment.tzinfo else moment, int(pk))
        except (binascii.Error, UnicodeError, ValueError, OverflowError):  # OverflowError: before year 1 in UTC
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor]}) from None
        if direction not in ("n", "p") or position[1].tzinfo is None or not 1 <= position[2] <= MAX_ID:
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor]})
        return position

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": link | {"description": "The next (older) page; null on the last."},
                "previous": link | {"description": "The previous (newer) page; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        cursor = {
            "name": self.cursor_query_param,
            "required": False,
            "in": "query",
            "description": "Where a page starts: take it from the `next` or `previous` link; none for the newest.",
            "schema": {"type": "string"},
        }
        return [cursor, page_size_parameter(self.page_size, self.max_page_size)]


def _beyond(backwards: bool, created_at: datetime, pk: int) -> Q:
    """Rows after the cursor in the page's direction. The redundant bound on `created_at` alone lets the
    database read an index range instead of filtering from the newest row."""
    if backwards:
        return Q(created_at__gte=created_at) & (Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk))
    return Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
