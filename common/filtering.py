from django_filters.rest_framework import DjangoFilterBackend


class AskedFiltersBackend(DjangoFilterBackend):
    """django-filter's backend, except that a request asking for no filter gets the queryset as it is.

    Building and validating the filter form is a good part of an unfiltered list's time, for nothing: every
    filter is optional. A parameter that starts like a filter's name (`status`, `created_after`) builds it."""

    def get_filterset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        asked = filterset_class is not None and any(
            parameter.startswith(name) for parameter in request.query_params for name in filterset_class.base_filters
        )
        return super().get_filterset(request, queryset, view) if asked else None
