"""Import templates API: list and create (version 1), read, change (a new version), archive,
preview a mapping on a file's first rows, import a file with a template, and which template read
an import. Thin views over apps.importmaps services and selectors."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agencies.selectors import agency_get_for_actor
from apps.common.api import validated
from apps.common.exceptions import ApplicationError, NotFound
from apps.common.pagination import Pagination, paginated
from apps.common.parsers import NUL_MESSAGE, JSONParser, contains_nul
from apps.common.tenancy import require_agency_role
from apps.importmaps.files import read_head, stored_opener, upload_opener
from apps.importmaps.mapping import mapping_from_data
from apps.importmaps.models import ImportTemplate, ImportTemplateVersion
from apps.importmaps.selectors import (
    import_template_get_for_actor,
    import_template_list_for_actor,
    import_template_preview,
    import_template_use_for_import,
    import_template_version_get,
    import_template_versions,
)
from apps.importmaps.services import (
    import_template_archive,
    import_template_create,
    import_template_import,
    import_template_update,
)
from apps.income.selectors import statement_import_get_for_actor
from apps.income.services import INCOME_ROLES


class MappingField(serializers.JSONField):
    """The mapping as a JSON object, or (in a multipart form) as its JSON text."""

    default_error_messages = {"invalid": _("Send the mapping as a JSON object.")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        if contains_nul(data):  # jsonb stores no U+0000: a 400 here, not a 500 at the INSERT
            raise serializers.ValidationError(NUL_MESSAGE)
        return data


class ImportTemplateVersionOutput(serializers.Serializer):
    number = serializers.IntegerField()
    header = serializers.JSONField()
    header_row = serializers.IntegerField()
    mapping = serializers.JSONField()
    created_at = serializers.DateTimeField()


class ImportTemplateOutput(serializers.Serializer):
    public_id = serializers.UUIDField()
    agency = serializers.UUIDField(source="agency.public_id")
    name = serializers.CharField()
    is_archived = serializers.BooleanField()
    version = serializers.IntegerField(source="current_version.number")
    header = serializers.JSONField(source="current_version.header")
    header_row = serializers.IntegerField(source="current_version.header_row")
    mapping = serializers.JSONField(source="current_version.mapping")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ImportTemplateVersionItemOutput(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ImportTemplateDetailOutput(ImportTemplateOutput):
    versions = ImportTemplateVersionItemOutput(many=True)


class ImportTemplatePreviewErrorOutput(serializers.Serializer):
    column = serializers.CharField()
    reason = serializers.CharField()


# A field named "errors" would shadow Serializer.errors: the row's shape is declared for the schema
# only (the view answers plain data).
ImportTemplatePreviewRowOutput = inline_serializer(
    name="ImportTemplatePreviewRowOutput",
    fields={
        "row": serializers.IntegerField(),
        "values": serializers.DictField(child=serializers.CharField()),
        "errors": ImportTemplatePreviewErrorOutput(many=True),
    },
)


class ImportTemplatePreviewSkippedOutput(serializers.Serializer):
    row = serializers.IntegerField()
    reason = serializers.CharField()


class ImportTemplatePreviewWarningOutput(serializers.Serializer):
    row = serializers.IntegerField()
    message = serializers.CharField()


class ImportTemplatePreviewOutput(serializers.Serializer):
    header_row = serializers.IntegerField()
    header = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=ImportTemplatePreviewRowOutput)
    skipped = ImportTemplatePreviewSkippedOutput(many=True)
    warnings = ImportTemplatePreviewWarningOutput(many=True)


class ImportTemplateImportOutput(serializers.Serializer):
    public_id = serializers.UUIDField(help_text="The new import: follow it at /api/v1/income/imports/{id}/.")
    status = serializers.CharField()
    template = serializers.UUIDField()


class ImportTemplateUseOutput(serializers.Serializer):
    statement_import = serializers.UUIDField()
    template = serializers.UUIDField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    is_chosen = serializers.BooleanField()


def _detail(template: ImportTemplate) -> dict[str, Any]:
    body: dict[str, Any] = dict(ImportTemplateOutput(template).data)
    body["versions"] = [
        {"number": version.number, "created_at": version.created_at.isoformat()}
        for version in import_template_versions(template=template)
    ]
    return body


def _file_head(request: Request, data: dict[str, Any], agency: Any) -> Any:
    """The first rows of the uploaded file, or of a waiting import's (an importer's only)."""
    require_agency_role(request.user, agency, INCOME_ROLES)
    if data.get("file") is not None:
        return read_head(upload_opener(data["file"]))
    if data.get("statement_import") is not None:
        waiting = statement_import_get_for_actor(actor=request.user, public_id=data["statement_import"])
        if waiting.agency_id != agency.pk:
            raise NotFound()
        return read_head(stored_opener(waiting.file))
    raise ApplicationError(str(_("Give a file, or the import whose file to read.")), code="invalid")


class ImportTemplateListApi(APIView):
    pagination_class = Pagination
    parser_classes = [JSONParser, MultiPartParser]

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        name = serializers.CharField(max_length=100)
        header = serializers.ListField(
            child=serializers.CharField(allow_blank=True, max_length=200), required=False
        )
        header_row = serializers.IntegerField(min_value=1, max_value=32_000, default=1)
        # Instead of `header`: the header of a waiting import's file, at header_row.
        statement_import = serializers.UUIDField(required=False)
        mapping = MappingField()

    @extend_schema(responses=ImportTemplateOutput(many=True))
    def get(self, request: Request) -> Response:
        return paginated(
            self, request, import_template_list_for_actor(actor=request.user), ImportTemplateOutput
        )

    @extend_schema(request=InputSerializer, responses={201: ImportTemplateDetailOutput})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data["agency"])
        header = data.get("header")
        if header is None:
            if data.get("statement_import") is None:
                raise ApplicationError(
                    str(_("Give the file's header, or the import whose file it is.")), code="invalid"
                )
            header = list(_file_head(request, data, agency).row(data["header_row"]))
        template = import_template_create(
            agency=agency,
            actor=request.user,
            name=data["name"],
            header=header,
            header_row=data["header_row"],
            mapping=data["mapping"],
        )
        return Response(_detail(template), status=201)


class ImportTemplateDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        header = serializers.ListField(
            child=serializers.CharField(allow_blank=True, max_length=200), required=False
        )
        header_row = serializers.IntegerField(min_value=1, max_value=32_000, required=False)
        mapping = MappingField(required=False)

    @extend_schema(responses=ImportTemplateDetailOutput)
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(_detail(import_template_get_for_actor(actor=request.user, public_id=public_id)))

    @extend_schema(request=InputSerializer, responses=ImportTemplateDetailOutput)
    def put(self, request: Request, public_id: UUID) -> Response:
        """A new version (when the header or the mapping change) and/or a new name."""
        template = import_template_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        return Response(_detail(import_template_update(template=template, actor=request.user, **data)))

    @extend_schema(request=InputSerializer, responses=ImportTemplateDetailOutput)
    def patch(self, request: Request, public_id: UUID) -> Response:
        return self.put(request, public_id)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, public_id: UUID) -> Response:
        """Archive: the template matches no file any more; the imports it read keep their version."""
        template = import_template_get_for_actor(actor=request.user, public_id=public_id)
        import_template_archive(template=template, actor=request.user)
        return Response(status=204)


class ImportTemplateVersionApi(APIView):
    @extend_schema(responses=ImportTemplateVersionOutput)
    def get(self, request: Request, public_id: UUID, number: int) -> Response:
        template = import_template_get_for_actor(actor=request.user, public_id=public_id)
        version: ImportTemplateVersion = import_template_version_get(template=template, number=number)
        return Response(ImportTemplateVersionOutput(version).data)


class ImportTemplatePreviewApi(APIView):
    """The first rows of a file as a mapping (or a template) would import them, with the errors
    the import would report on each; nothing is saved."""

    parser_classes = [MultiPartParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        agency = serializers.UUIDField()
        file = serializers.FileField(required=False)
        statement_import = serializers.UUIDField(required=False)
        header_row = serializers.IntegerField(min_value=1, max_value=60, required=False)
        mapping = MappingField(required=False)
        template = serializers.UUIDField(required=False)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses=ImportTemplatePreviewOutput)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        agency = agency_get_for_actor(actor=request.user, public_id=data["agency"])
        head = _file_head(request, data, agency)
        mapping_data = data.get("mapping")
        header_row = data.get("header_row") or head.likely_header_row()
        if data.get("template") is not None:
            template = import_template_get_for_actor(actor=request.user, public_id=data["template"])
            if template.agency_id != agency.pk or template.current_version is None:
                raise NotFound()
            mapping_data = template.current_version.mapping
        if mapping_data is None:
            raise ApplicationError(str(_("Give a mapping, or the template to preview.")), code="invalid")
        header = head.row(header_row)
        preview = import_template_preview(
            agency=agency,
            mapping=mapping_from_data(mapping_data, header),
            header=header,
            header_row=header_row,
            rows=head.rows,
            is_workbook=head.is_workbook,
        )
        return Response(
            {
                "header_row": preview.header_row,
                "header": preview.header,
                "rows": [
                    {
                        "row": row.number,
                        "values": row.values,
                        "errors": [{"column": column, "reason": reason} for column, reason in row.errors],
                    }
                    for row in preview.rows
                ],
                "skipped": [{"row": row, "reason": reason} for row, reason in preview.skipped],
                "warnings": [{"row": row, "message": message} for row, message in preview.warnings],
            }
        )


class ImportTemplateImportApi(APIView):
    """Import a file (or a waiting import's file again) with this template: the person's
    choice, also when the file's header matches other templates."""

    parser_classes = [MultiPartParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(required=False)
        statement_import = serializers.UUIDField(required=False)
        is_all_or_nothing = serializers.BooleanField(default=False)

    @extend_schema(
        request={"multipart/form-data": InputSerializer}, responses={202: ImportTemplateImportOutput}
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        template = import_template_get_for_actor(actor=request.user, public_id=public_id)
        data = validated(self.InputSerializer, request.data)
        waiting = None
        if data.get("statement_import") is not None:
            waiting = statement_import_get_for_actor(actor=request.user, public_id=data["statement_import"])
        created = import_template_import(
            template=template,
            actor=request.user,
            file=data.get("file"),
            statement_import=waiting,
            is_all_or_nothing=data["is_all_or_nothing"],
        )
        return Response(
            {
                "public_id": str(created.public_id),
                "status": created.status,
                "template": str(template.public_id),
            },
            status=202,
        )


class ImportTemplateUseApi(APIView):
    """Which template version read an import (404 when none did, or the import is not yours)."""

    @extend_schema(responses=ImportTemplateUseOutput)
    def get(self, request: Request, import_id: UUID) -> Response:
        statement_import = statement_import_get_for_actor(actor=request.user, public_id=import_id)
        use = import_template_use_for_import(statement_import=statement_import)
        if use is None or statement_import.format != "template":
            raise NotFound()
        return Response(
            {
                "statement_import": str(statement_import.public_id),
                "template": str(use.version.template.public_id),
                "name": use.version.template.name,
                "version": use.version.number,
                "is_chosen": use.is_chosen,
            }
        )
