"""The mapping form: per canonical field a column of the file or a constant, and the transforms.
It only turns what was typed into the mapping's JSON (`mapping_data`) and back (`initial_for`);
apps.importmaps.mapping checks it, and its per-field messages land on the fields here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.catalog import Platform, Source
from apps.importmaps.mapping import DATE_FORMAT_CHOICES, FIELD_LABELS, MappingInvalid, header_key
from apps.income.importers.canonical import COLUMNS, REQUIRED, cell_text

# Fields a constant makes sense for (one account, one platform, one currency per file...).
CONSTANT_FIELDS = ("platform", "account_id", "source", "currency", "description")
VALUE_MAP_FIELDS = ("platform", "source", "currency")
CUSTOM = "custom"


def _lines(text: str) -> dict[str, str]:
    """'直播礼物 = live_gifts' per line -> {written: meant}; a line without '=' is ignored."""
    pairs: dict[str, str] = {}
    for line in (text or "").splitlines():
        written, separator, meant = line.partition("=")
        if separator and written.strip():
            pairs[written.strip()] = meant.strip()
    return pairs


class MappingForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=100)
    header_row = forms.IntegerField(
        label=_("The header is on row"),
        min_value=1,
        max_value=60,
        help_text=_("Rows above it are notes and are skipped."),
    )
    skip = forms.CharField(
        label=_("Skip rows whose first filled cell matches"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One pattern per line; * matches anything, e.g. 注：* or Summary*. Totals rows (合计, 总计,"
            " Total) are always skipped and checked against the rows' sum."
        ),
    )

    def __init__(self, *args: Any, header: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header = [cell_text(cell) for cell in header]
        columns: list[tuple[str, Any]] = [(header_key(name), name) for name in self.header if name]
        none: list[tuple[str, Any]] = [("", _("— not from a column —"))]
        for field_name in COLUMNS:
            label = FIELD_LABELS[field_name]
            if field_name == "external_id":
                self.fields["external_id__columns"] = forms.MultipleChoiceField(
                    label=label,
                    choices=columns,
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                    help_text=_(
                        "The row's own id in the file: one column, or several joined with '-' when one"
                        " alone does not tell the rows apart (e.g. the date and the order number)."
                    ),
                )
                continue
            self.fields[f"{field_name}__column"] = forms.ChoiceField(
                label=_("%(field)s: column") % {"field": label},
                choices=none + columns,
                required=False,
                help_text=_("For a refund: the column with the external id of the line it refunds.")
                if field_name == "refund_of"
                else "",
            )
            if field_name in ("platform", "source"):
                catalogue = Platform.choices if field_name == "platform" else Source.choices
                self.fields[f"{field_name}__constant"] = forms.ChoiceField(
                    label=_("%(field)s: or the same for every row") % {"field": label},
                    choices=[("", "—"), *catalogue],
                    required=False,
                )
            elif field_name in CONSTANT_FIELDS:
                self.fields[f"{field_name}__constant"] = forms.CharField(
                    label=_("%(field)s: or the same for every row") % {"field": label},
                    required=False,
                    max_length=200,
                )
            if field_name in VALUE_MAP_FIELDS:
                self.fields[f"{field_name}__values"] = forms.CharField(
                    label=_("%(field)s: values to translate") % {"field": label},
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 3}),
                    help_text=_(
                        "One per line, as the file writes it = Fenrun's code, e.g. 直播礼物 = live_gifts"
                    ),
                )
        self.fields["occurred_at__date_format"] = forms.ChoiceField(
            label=_("Date format"),
            required=False,
            choices=[
                ("", _("Automatic: 2026-11-03, 2026/11/3 10:00, 2026年11月3日, 20261103, Nov 3, 2026")),
                *((pattern, pattern) for pattern in DATE_FORMAT_CHOICES),
                (CUSTOM, _("Another format (below)")),
            ],
            help_text=_("A time without an offset is read in the agency's time zone."),
        )
        self.fields["occurred_at__date_format_custom"] = forms.CharField(
            label=_("Another date format"),
            required=False,
            max_length=40,
            help_text=_(
                "strftime codes: %(year)s year, %(month)s month, %(day)s day, %(time)s time, %(name)s month name"
            )
            % {"year": "%Y", "month": "%m", "day": "%d", "time": "%H:%M:%S", "name": "%b"},
        )
        self.fields["gross__minor_units"] = forms.BooleanField(
            label=_("Amounts are in fen / cents (minor units): 12345 means 123.45"), required=False
        )
        self.fields["gross__direction_column"] = forms.ChoiceField(
            label=_("Sign from a direction column"),
            choices=[("", _("— the amount carries its sign —")), *columns],
            required=False,
            help_text=_("For unsigned amounts with a column such as 收支类型 (入账 / 出账)."),
        )
        self.fields["gross__direction_positive"] = forms.CharField(
            label=_("Direction values that mean income (+)"),
            required=False,
            max_length=200,
            help_text=_("Comma-separated, e.g. 入账, 收入"),
        )
        self.fields["gross__direction_negative"] = forms.CharField(
            label=_("Direction values that mean money out (−)"),
            required=False,
            max_length=200,
            help_text=_("Comma-separated, e.g. 出账, 支出, 退款"),
        )

    # --- to and from the mapping's JSON ----------------------------------------------------------

    def mapping_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        names = {header_key(name): name for name in self.header if name}
        fields: dict[str, Any] = {}
        for field_name in COLUMNS:
            entry: dict[str, Any] = {}
            if field_name == "external_id":
                entry["columns"] = [names.get(key, key) for key in data.get("external_id__columns") or []]
            else:
                column = data.get(f"{field_name}__column") or ""
                if column:
                    entry["column"] = names.get(column, column)
                constant = (data.get(f"{field_name}__constant") or "").strip()
                if constant:
                    entry["constant"] = constant
                values = _lines(data.get(f"{field_name}__values") or "")
                if values:
                    entry["values"] = values
            if field_name == "occurred_at":
                date_format = data.get("occurred_at__date_format") or ""
                if date_format == CUSTOM:
                    date_format = (data.get("occurred_at__date_format_custom") or "").strip()
                if date_format:
                    entry["date_format"] = date_format
            if field_name == "gross":
                if data.get("gross__minor_units"):
                    entry["minor_units"] = True
                direction = data.get("gross__direction_column") or ""
                if direction:
                    entry["direction"] = {
                        "column": names.get(direction, direction),
                        "positive": data.get("gross__direction_positive") or "",
                        "negative": data.get("gross__direction_negative") or "",
                    }
            if entry.get("columns") or entry.get("column") or entry.get("constant"):
                fields[field_name] = entry
        skip = [line.strip() for line in (data.get("skip") or "").splitlines() if line.strip()]
        return {"fields": fields, "skip": skip}

    @staticmethod
    def initial_for(mapping: dict[str, Any], *, name: str, header_row: int) -> dict[str, Any]:
        """The form's initial values for a saved version's mapping."""
        initial: dict[str, Any] = {
            "name": name,
            "header_row": header_row,
            "skip": "\n".join(mapping.get("skip", [])),
        }
        for field_name, entry in (mapping.get("fields") or {}).items():
            if field_name == "external_id":
                initial["external_id__columns"] = [header_key(column) for column in entry.get("columns", [])]
                continue
            if entry.get("column"):
                initial[f"{field_name}__column"] = header_key(entry["column"])
            if entry.get("constant"):
                initial[f"{field_name}__constant"] = entry["constant"]
            if entry.get("values"):
                initial[f"{field_name}__values"] = "\n".join(f"{k} = {v}" for k, v in entry["values"].items())
            if entry.get("date_format"):
                if entry["date_format"] in DATE_FORMAT_CHOICES:
                    initial["occurred_at__date_format"] = entry["date_format"]
                else:
                    initial["occurred_at__date_format"] = CUSTOM
                    initial["occurred_at__date_format_custom"] = entry["date_format"]
            if entry.get("minor_units"):
                initial["gross__minor_units"] = True
            if entry.get("direction"):
                direction = entry["direction"]
                initial["gross__direction_column"] = header_key(direction.get("column", ""))
                initial["gross__direction_positive"] = ", ".join(direction.get("positive", []))
                initial["gross__direction_negative"] = ", ".join(direction.get("negative", []))
        return initial

    def add_mapping_errors(self, invalid: MappingInvalid) -> None:
        """The mapping's per-field messages on the form's fields."""
        for key, message in invalid.errors.items():
            if key == "external_id":
                self.add_error("external_id__columns", message)
            elif key == "direction":
                self.add_error("gross__direction_column", message)
            elif key == "skip":
                self.add_error("skip", message)
            elif key == "date_format":
                self.add_error("occurred_at__date_format_custom", message)
            elif f"{key}__column" in self.fields:
                self.add_error(f"{key}__column", message)
            else:
                self.add_error(None, f"{key}: {message}")

    def field_groups(self) -> list[dict[str, Any]]:
        """The canonical fields in order, each with its bound form fields (the template's fieldsets)."""
        groups = []
        for field_name in COLUMNS:
            names = [name for name in self.fields if name.startswith(f"{field_name}__")]
            groups.append(
                {
                    "name": field_name,
                    "label": FIELD_LABELS[field_name],
                    "required": field_name in REQUIRED,
                    "fields": [self[name] for name in names],
                }
            )
        return groups


# Words that usually name a canonical field's column (lower-case header keys contain them).
_HINTS = {
    "occurred_at": ("日期", "时间", "date", "time", "day"),
    "gross": ("金额", "收入", "amount", "revenue", "earnings", "佣金"),
    "account_id": ("账号", "抖音号", "快手号", "uid", "account", "channel"),
    "order_ref": ("订单", "order"),
    "external_id": ("流水号", "单号", "编号", "transactionid", "id"),
    "source": ("类型", "type", "category"),
    "description": ("备注", "说明", "描述", "note", "description", "title"),
    "currency": ("币种", "货币", "currency"),
}


def suggested_initial(header: list[Any]) -> dict[str, Any]:
    """A first guess at the columns, from their names (the person confirms or changes each);
    a column is suggested for one field only."""
    keys = [header_key(cell) for cell in header]
    taken: set[str] = set()
    initial: dict[str, Any] = {}
    for field_name, words in _HINTS.items():
        for key in keys:
            if key and key not in taken and any(word in key for word in words):
                taken.add(key)
                if field_name == "external_id":
                    initial["external_id__columns"] = [key]
                else:
                    initial[f"{field_name}__column"] = key
                break
    if "currency__column" not in initial:
        initial["currency__constant"] = "CNY"
    return initial
