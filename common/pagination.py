import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


class PageNumberWithSize(PageNumberPagination):
    """`?page=2&page_size=100`; at most 200 rows a page so one call stays cheap.

    Both are whole numbers from 1, refused with 400 otherwise (DRF would quietly use its default for a
    `page_size` it cannot read); a page past the last one is 404, as in DRF.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    last_page_strings = ()  # the schema says `page` is a number: no `?page=last`

    def get_page_number(self, request, paginator):
        return self._whole_number(request, self.page_query_param, default=1)

    def get_page_size(self, request):
        return min(self._whole_number(request, self.page_size_query_param, default=self.page_size), self.max_page_size)

    def _whole_number(self, request, name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise ValidationError({name: ["Enter a whole number from 1."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] |= {"minimum": 1, "maximum": 10**18 - 1}
        most = self.max_page_size
        parameters[-1]["description"] = (
            f"Results per page: {self.page_size} unless given; more than {most} gives {most}."
        )
        return parameters
