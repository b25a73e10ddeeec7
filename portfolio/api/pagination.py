"""Pages of the API's lists: ``?limit=&offset=``. A value that is not a whole number in range is
answered 400 naming the parameter, rather than quietly replaced by the default; the schema gives
the same range."""

from rest_framework.pagination import LimitOffsetPagination

from .query import whole_number


class Pagination(LimitOffsetPagination):
    """?limit=&offset=; 50 by default, 500 at most."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return whole_number(raw, self.limit_query_param, lowest=1, highest=self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        return whole_number(raw, self.offset_query_param, lowest=0)

    def get_schema_operation_parameters(self, view):
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"].update(minimum=1, maximum=self.max_limit)
        limit["description"] = f"Rows per page: {self.default_limit} unless given, {self.max_limit} at most."
        offset["schema"].update(minimum=0)
        return [limit, offset]
