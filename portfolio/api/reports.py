"""Published briefing reports over the API: list and read them, publish one. A published report
is never changed or deleted: PUT, PATCH and DELETE are answered 405."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.reverse import reverse

from portfolio.book import BOOKS, DEFAULT_BOOK
from portfolio.book.dates import shown_date_error
from portfolio.models import PublishedReport
from portfolio.services.reports import PUBLISH_PERMISSION, report_publish

from . import fields as strict
from .permissions import RolePermission
from .query import CheckedQuery
from .resources import location

#: The books a report sums, by name.
BOOK_CHOICES = list(BOOKS)


class PublishedReportSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(source="pk", read_only=True, help_text="The report's number (#N).")
    book = serializers.ChoiceField(choices=BOOK_CHOICES, read_only=True, help_text="The book the report sums.")
    published_by = serializers.CharField(
        source="published_by_username", read_only=True, help_text="The publisher's user name."
    )
    figures = serializers.JSONField(
        read_only=True,
        help_text="The figures as published: totals, beside, by_agency, by_company, by_instrument (each group's "
        "amounts in USD as decimal strings, ratios as decimal strings, null where a figure cannot be had), by_deal "
        "(deal reference: value in USD) and by_position (position id: value in USD).",
    )
    content_hash = serializers.CharField(
        read_only=True,
        help_text="SHA-256 (hex) of the canonical JSON (keys sorted, no spaces, UTF-8) of as_of, book, figures, "
        "html and rules_version.",
    )

    class Meta:
        model = PublishedReport
        fields = ["number", "as_of", "book", "rules_version", "published_by", "published_at", "content_hash", "figures"]
        read_only_fields = fields


class PublishedReportWithBodySerializer(PublishedReportSerializer):
    """A report with its body: answered with ``?include=html``. (Only ever written out: ``html`` is
    declared optional, not read-only, so that the schema does not require it in every answer.)"""

    html = serializers.CharField(required=False, help_text="The report's body (HTML) as published: with ?include=html.")

    class Meta(PublishedReportSerializer.Meta):
        fields = [*PublishedReportSerializer.Meta.fields, "html"]


class ReportQuery(serializers.Serializer):
    include = strict.ChoiceField(
        choices=["html"], required=False, help_text="html: each report's body (HTML) as published, too."
    )


class ReportPublishSerializer(serializers.Serializer):
    as_of = strict.DateField(help_text="The date of the report: from 1990-01-01 to today.")
    book = strict.ChoiceField(
        choices=BOOK_CHOICES,
        default=DEFAULT_BOOK,
        help_text="The book the report sums: held (what the government holds on the date), committed, pipeline, "
        "or all three.",
    )

    def validate_as_of(self, value):
        error = shown_date_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value


class CanReadOrPublishReports(RolePermission):
    """Reading needs the view permission of reports (every role); publishing (POST) needs
    publish_report (analysts and admins). A method the endpoint does not answer (a published report
    is never changed or deleted) is answered 405 to anyone who may read."""

    def has_permission(self, request, view):
        user = request.user
        if request.method == "POST":
            return bool(user and user.is_authenticated and user.has_perm(PUBLISH_PERMISSION))
        if getattr(view, request.method.lower(), None) is None:
            return bool(user and user.is_authenticated and user.has_perm("portfolio.view_publishedreport"))
        return super().has_permission(request, view)


class PublishedReportViewSet(CheckedQuery, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Published briefing reports, the latest first. POST publishes the report of a date (201 with
    the report and its Location); a report is never changed or deleted (405)."""

    queryset = PublishedReport.objects.order_by("-id")
    permission_classes = [CanReadOrPublishReports]
    filter_backends: list = []  # pages only: the list is short, the latest first
    lookup_url_kwarg = "number"

    @property
    def query_serializer(self):
        """Reads take ``?include=``; publishing takes no query parameter."""
        return None if self.request.method == "POST" else ReportQuery

    def _with_body(self) -> bool:
        if self.request.method != "GET" and self.request.method != "HEAD":
            return False
        query = ReportQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data.get("include") == "html"

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset if self._with_body() else queryset.defer("html")

    def get_serializer_class(self):
        return PublishedReportWithBodySerializer if self._with_body() else PublishedReportSerializer

    @extend_schema(parameters=[ReportQuery], responses={200: PublishedReportWithBodySerializer(many=True)})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[ReportQuery], responses={200: PublishedReportWithBodySerializer})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=ReportPublishSerializer,
        parameters=[location(201)],
        responses={201: PublishedReportSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = ReportPublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        report = report_publish(as_of=given["as_of"], book=given["book"], user=request.user)
        where = reverse("api:publishedreport-detail", args=[report.pk], request=request)
        body = PublishedReportSerializer(report).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": where})
