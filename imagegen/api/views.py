"""The endpoints: styles/, variants/, jobs/ (requests for new variants)."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.http import http_date, parse_etags, parse_http_date_safe, quote_etag
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ..completion import complete_if_settled
from ..conf import conf
from ..models import Style, Variant
from ..natural import natural_ordering
from ..requests import request_variants
from ..variant_requests import VariantRequest
from .filters import variant_filterset
from .permissions import CanRequestVariants, sees_everything, visible_variants
from .serializers import RequestCreateSerializer, RequestSerializer, StyleSerializer, VariantSerializer
from .throttling import VariantRequestThrottle

BUSY = {"pending", "running"}


class NewestFirstPagination(CursorPagination):
    """Cursor pagination: stable under inserts, cheap at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # a bad cursor is bad input, not a missing page
            raise ValidationError({self.cursor_query_param: ["Invalid cursor; use the next/previous links as given."]}) from None


# --- schema pieces shared by the endpoints -------------------------------------------------

class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated (send a session cookie or `Authorization: Token ...`)."),
    403: OpenApiResponse(ErrorSerializer, description="Authenticated, but not allowed."),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or not visible to you."),
    429: OpenApiResponse(ErrorSerializer, description="Too many work-creating requests; see the Retry-After header."),
}
VALIDATION = OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input: field name → list of messages.")
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="An ETag from an earlier response: 304 Not Modified if it still matches.",
)
IF_MODIFIED_SINCE = OpenApiParameter(
    "If-Modified-Since", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="An HTTP date: 304 Not Modified if nothing changed since.",
)
ETAG_HEADERS = [
    OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 304], description="Version of this representation."),
    OpenApiParameter("Last-Modified", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 304], description="When it last changed."),
]
RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[200, 202],
    description="Sent while work is pending or running: seconds to wait before polling again.",
)


# --- conditional GET ------------------------------------------------------------------------

class ConditionalRetrieveMixin:
    """ETag (a digest of the representation) and Last-Modified on detail responses, 304 on a
    matching If-None-Match / If-Modified-Since, and Retry-After while work is under way."""

    def last_modified(self, instance) -> datetime:
        return instance.updated_at

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        instance = self.get_object()
        data = self.get_serializer(instance).data
        return conditional_response(request, data, self.last_modified(instance))


def conditional_response(request: Request, data: dict, last_modified: datetime, status_code: int = 200) -> Response:
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    modified = int(last_modified.timestamp())
    headers = {"ETag": etag, "Last-Modified": http_date(modified)}
    if data.get("status") in BUSY:
        headers["Retry-After"] = str(int(conf.API_RETRY_AFTER))
    if request.method in ("GET", "HEAD") and status_code == 200 and _not_modified(request, etag, modified):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(data, status=status_code, headers=headers)


def _not_modified(request: Request, etag: str, modified: int) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:  # takes precedence over If-Modified-Since (RFC 9110)
        tags = parse_etags(if_none_match)
        return "*" in tags or etag.removeprefix("W/") in {t.removeprefix("W/") for t in tags}
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and modified <= since


# --- styles -------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="Active styles", description="Every active style, by name (naturally: \"Style 2\" before \"Style 10\").", responses={200: StyleSerializer(many=True)}),
    retrieve=extend_schema(
        summary="One style", description="An active style by slug.", parameters=[IF_NONE_MATCH, IF_MODIFIED_SINCE, *ETAG_HEADERS],
        responses={200: StyleSerializer, 304: OpenApiResponse(description="Not modified."), 404: ERRORS[404]},
    ),
)
class StyleViewSet(ConditionalRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Style.objects.filter(is_active=True).order_by("name", "pk")
    serializer_class = StyleSerializer
    permission_classes = [AllowAny]
    pagination_class = None
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"

    def get_queryset(self) -> QuerySet[Style]:
        if self.action != "list" or getattr(self, "swagger_fake_view", False):
            return super().get_queryset()
        return self.queryset.order_by(natural_ordering(self.queryset), "pk")  # "Style 2" before "Style 10"


# --- variants -----------------------------------------------------------------------------

class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name: str):
        return getattr(api_settings, name)


class FormatIsAFilter(DefaultContentNegotiation):
    """``?format=webp`` filters variants by image format here; it must not pick a renderer."""

    settings = _NoFormatOverride()


@extend_schema_view(
    list=extend_schema(
        summary="List variants",
        description=(
            "Variants of the sources you may see, newest first, cursor-paginated. Anonymous clients see "
            "published, ready variants of public sources only. Stale variants (of replaced images) are "
            "left out unless `status=stale` is asked for."
        ),
        responses={200: VariantSerializer(many=True), 400: VALIDATION},
    ),
    retrieve=extend_schema(
        summary="One variant",
        description="Status, file, size, figures and provenance. While pending or running the response carries Retry-After.",
        parameters=[IF_NONE_MATCH, IF_MODIFIED_SINCE, *ETAG_HEADERS, RETRY_AFTER],
        responses={200: VariantSerializer, 304: OpenApiResponse(description="Not modified."), 404: ERRORS[404]},
    ),
)
class VariantViewSet(ConditionalRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = VariantSerializer
    permission_classes = [AllowAny]
    filter_backends = [DjangoFilterBackend]
    content_negotiation_class = FormatIsAFilter
    pagination_class = NewestFirstPagination
    lookup_value_regex = "[0-9]+"

    @property
    def filterset_class(self):
        return variant_filterset()

    def get_queryset(self) -> QuerySet[Variant]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no database
            return Variant.objects.none()
        rows = Variant.objects.select_related("style").prefetch_related("source")
        return visible_variants(self.request.user, rows)


# --- requests for new work ----------------------------------------------------------------

REQUEST_EXAMPLE = OpenApiExample(
    "Two images, two styles",
    value={
        "sources": ["shop.productimage:42", "shop.productimage:43"],
        "styles": ["vintage", "sunset-look"],
        "options": {"strength": 0.8, "preserve_colors": False, "preserve_product": "product"},
        "format": "webp",
        "size": 1024,
        "priority": "high",
        "callback_url": "https://hooks.example.com/imagegen",
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="Your requests", description="Requests you made (staff: everyone's), newest first.",
        responses={200: RequestSerializer(many=True), 400: VALIDATION, 401: ERRORS[401], 403: ERRORS[403]},
    ),
    retrieve=extend_schema(
        summary="Progress of a request",
        description="Status and progress of every variant of the request. While any is pending or running the response carries Retry-After.",
        parameters=[IF_NONE_MATCH, IF_MODIFIED_SINCE, *ETAG_HEADERS, RETRY_AFTER],
        responses={200: RequestSerializer, 304: OpenApiResponse(description="Not modified."), 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404]},
    ),
    create=extend_schema(
        summary="Request variants",
        description=(
            "One variant per (source, style). Identical variants that already exist (same image bytes, "
            "style, options and output) are returned as they are instead of being rendered again, unless "
            "`regenerate`. Needs the `imagegen.request_variant` permission; rate-limited per user."
        ),
        request=RequestCreateSerializer,
        examples=[REQUEST_EXAMPLE],
        parameters=[
            OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202], description="The request's URL, to poll."),
            RETRY_AFTER,
        ],
        responses={202: RequestSerializer, 400: VALIDATION, 401: ERRORS[401], 403: ERRORS[403], 429: ERRORS[429]},
    ),
)
class RequestViewSet(
    ConditionalRetrieveMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = RequestSerializer
    pagination_class = NewestFirstPagination
    parser_classes = [JSONParser]  # options are nested: JSON only
    lookup_value_regex = "[0-9]+"

    def get_permissions(self):
        return [CanRequestVariants()] if self.action == "create" else [IsAuthenticated()]

    def get_throttles(self):
        return [VariantRequestThrottle()] if self.action == "create" else super().get_throttles()

    def get_serializer_class(self):
        return RequestCreateSerializer if self.action == "create" else RequestSerializer

    def get_queryset(self) -> QuerySet[VariantRequest]:
        variants = Variant.objects.select_related("style").order_by("pk")
        requests = VariantRequest.objects.prefetch_related(Prefetch("variants", queryset=variants))
        user = self.request.user
        return requests if sees_everything(user) else requests.filter(user=user.pk)

    def last_modified(self, instance: VariantRequest) -> datetime:
        stamps: Iterable[datetime] = [instance.created_at, *(v.updated_at for v in instance.variants.all())]
        return max(stamps)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        options = data.get("options") or {}
        with transaction.atomic():
            job = VariantRequest.objects.create(
                user=request.user,
                callback_url=data.get("callback_url") or "",
                options={
                    "sources": [f"{ref.source.id}:{ref.object_id}" for ref, _ in data["sources"]],
                    "styles": [style.slug for style in data["styles"]],
                    "options": options,
                    "format": data.get("format") or conf.DEFAULT_FORMAT.lower(),
                    "size": data.get("size"),
                    "priority": data["priority"],
                    "regenerate": data["regenerate"],
                },
            )
            rows: list[Variant] = []
            for ref, instance in data["sources"]:
                rows += request_variants(
                    instance,
                    ref.source.field_name,
                    data["styles"],
                    format=data.get("format") or conf.DEFAULT_FORMAT,
                    size=data.get("size"),
                    quality=int(conf.DEFAULT_QUALITY),
                    queue=data["priority"],
                    force=data["regenerate"],
                    **options,
                )
            job.variants.add(*rows)
            # After commit: variants that were already done (or finished meanwhile) complete it now.
            transaction.on_commit(partial(complete_if_settled, job.pk))
        job = self.get_queryset().get(pk=job.pk)
        body = RequestSerializer(job, context=self.get_serializer_context()).data
        location = request.build_absolute_uri(reverse("imagegen-api:request-detail", kwargs={"pk": job.pk}))
        headers = {"Location": location}
        if body["status"] in BUSY:
            headers["Retry-After"] = str(int(conf.API_RETRY_AFTER))
        return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)
