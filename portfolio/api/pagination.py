"""Pages of the API's lists: ``?limit=&offset=``. A value that is not a whole number in range is
answered 400 naming the parameter, rather than quietly replaced by the default."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """?limit=&offset=; 50 by default, 500 at most."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is not None:
            _whole(raw, self.limit_query_param, lowest=1, highest=self.max_limit)
        return super().get_limit(request)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is not None:
            _whole(raw, self.offset_query_param, lowest=0)
        return super().get_offset(request)


def _whole(raw: str, name: str, *, lowest: int, highest: int | None = None) -> None:
    within = f"from {lowest} to {highest}" if highest is not None else f"of {lowest} or more"
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"Give a whole number {within}."]}) from None
    if value < lowest or (highest is not None and value > highest):
        raise ValidationError({name: [f"Give a whole number {within}."]})
