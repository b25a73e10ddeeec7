"""The API's ordering: ``?ordering=`` names fields a list may be ordered by; any other is answered
400 naming them, rather than quietly ignored."""

from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        unknown = [term for term in fields if term not in valid]
        if unknown:
            allowed = sorted(name for name, _ in self.get_valid_fields(queryset, view, {"request": request}))
            raise ValidationError(
                {self.ordering_param: [f"Cannot order by {', '.join(unknown)}; choose from: {', '.join(allowed)}."]}
            )
        return valid
