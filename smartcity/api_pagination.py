"""The API's pages (REST_FRAMEWORK's DEFAULT_PAGINATION_CLASS). A module of its own: DRF imports it while
its generic views are being defined, so it may import nothing that imports those views (smartcity.api does)."""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework import pagination, serializers


class ApiPagination(pagination.PageNumberPagination):
    """Pages of PAGE_SIZE. `page` is a whole number from 1: anything else is invalid input (400 with
    invalidParams); a page past the last one does not exist (404). No `page=last`: the document says integer."""

    last_page_strings = ()

    def get_page_number(self, request, paginator) -> int:
        given = request.query_params.get(self.page_query_param)
        if given is None:
            return 1
        digits = given.lstrip("0")
        if not re.fullmatch(r"[0-9]+", given) or not digits:
            raise serializers.ValidationError({self.page_query_param: [_("A page number is a whole number from 1.")]},
                                              code="invalid")
        # A number of more digits than any list has pages lies past the end (Python would not even read one of
        # 5,000 digits): the page after the last, which does not exist (404).
        return int(digits) if len(digits) <= 18 else paginator.num_pages + 1

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
