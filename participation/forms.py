"""Residents' forms: they validate and normalise; the views call the services."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.utils.choices import BaseChoiceIterator
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from participation.geocoding import GeocoderUnavailable, Place, geocoder
from participation.models import Category, Comment, Report, ServiceQuestion, normalise_address_text
from participation.photos import (
    MAX_PHOTOS,
    PENDING_DIRECTORY,
    PENDING_MAX_AGE,
    PhotoError,
    ProcessedPhoto,
    pending_keep,
    process_photo,
)
from smartcity import pagecache
from smartcity.forms import OneLineField, PlainTextField
from smartcity.geo import in_city_bounds
from smartcity.models import Theme
from smartcity.text import clean_line, clean_text

_KEPT_SALT = "participation.kept-photos"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [super(MultiplePhotoField, self).clean(item, initial) for item in files]


class ReportForm(forms.Form):
    """A new report. Photos that passed validation are kept server-side when the form must be shown again,
    so a resident never has to choose them twice; `kept_photos` carries a signed list of them.

    Photos are read (decoded) last, and only when every other field is valid: decoding is the
    expensive part of a post, and a form with an empty title costs nothing but its text. So photos
    are kept only for a form that is otherwise valid (the "already reported?" step, or a refused
    photo beside good ones). The resident whose title was missing chooses the photos again, and
    is told so (`photos_unread`); in exchange, nobody can fill the server's disk or its CPU with
    incomplete forms, which no rate limit counts (issue #14). With `read_photos=False` (a client
    over its limit) the photos are not read at all."""

    title = OneLineField(
        label=_("Title"), min_length=3, max_length=Report.TITLE_MAX_LENGTH,
        help_text=_("In a few words: what is the problem?"),
        widget=forms.TextInput(attrs={"data-counter": "", "autocomplete": "off"}),
    )
    description = PlainTextField(
        label=_("Description"), min_length=10, max_length=Report.DESCRIPTION_MAX_LENGTH,
        help_text=_("What do you see, since when, and what would help?"),
        widget=forms.Textarea(attrs={"rows": 5, "data-counter": ""}),
    )
    category = forms.TypedChoiceField(
        label=_("What is it about?"), required=False, coerce=int, empty_value=None,
        help_text=_("Choose the closest one. Not sure? Choose “I don't know”: a civil servant will sort it."),
    )
    theme = forms.ModelChoiceField(
        label=_("Theme"), queryset=Theme.objects.all(), required=False, empty_label=_("I don't know"),
    )
    address = OneLineField(
        label=_("Address or place description"), max_length=255, required=False,
        help_text=_("Type a street and house number and choose one of the suggestions, or describe the place, "
                    "for example: the bench at the end of the pier."),
        # No autofill token: this is where the problem is, not the reporter's own address (WCAG 1.3.5 names the
        # user's data), and "street-address" is for a multi-line field anyway (HTML_CodeSniffer, issue #20).
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    latitude = forms.FloatField(
        label=_("Latitude"), min_value=-90, max_value=90, required=False,
        help_text=_("Or give the coordinates. A map app shows them when you hold your finger on a place, e.g. 52.0799."),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    longitude = forms.FloatField(
        label=_("Longitude"), min_value=-180, max_value=180, required=False, help_text=_("For example 4.3113."),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    # The "did you mean" step without JavaScript: one of the addresses the typed text matched.
    address_choice = forms.CharField(required=False, max_length=400)
    photos = MultiplePhotoField(
        label=_("Photos"), required=False,
        help_text=_("Up to 3 photos (JPEG, PNG or WebP, at most 10 MB each). We remove location data and other metadata."),
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    email = forms.EmailField(
        label=_("Email address for updates"), required=False,
        help_text=_("We send you a link to confirm it. It is never shown publicly."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    kept_photos = forms.CharField(required=False, widget=forms.HiddenInput)
    nearby_seen = forms.BooleanField(required=False, widget=forms.HiddenInput)
    notice_seen = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, read_photos: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.read_photos = read_photos
        # The form's one-time key: a hidden input, not a field (nobody can correct a hidden field, so a
        # missing or malformed key just means no protection against sending the form twice). The report
        # stores it joined with the words, so the same form sent again with the same words is the same
        # report, and other words typed into it (after the browser's Back button) make another one.
        posted = _uuid(self.data.get("submission_key", "")) if self.is_bound else None
        self.rendered_key = posted or uuid.uuid4()
        self.submission_key = uuid.uuid5(posted, "\n".join((
            clean_line(self.data.get("title", "")), clean_text(self.data.get("description", ""))))) if posted else None
        self.new_photos: list[ProcessedPhoto] = []
        self._photos_unread = 0
        self.photos_not_kept = 0  # passed, but the client's share of the server's disk was full
        self.kept: list[list] = self._read_kept(self.data.get("kept_photos", "")) if self.is_bound else []
        self.kept_token = self._sign_kept()
        if user is not None and user.is_authenticated:
            del self.fields["email"]
        self.address_candidates: list[Place] = []
        catalogue = category_catalogue()
        self.categories = dict(catalogue.categories)
        self._questions = catalogue.questions
        self._asked = catalogue.asked()
        if self.categories:
            self.fields["category"].choices = catalogue.choices()
            # The categories say what it is about; the theme follows from the category.
            del self.fields["theme"]
        else:
            del self.fields["category"]
        self.question_groups = self._add_question_fields()

    def _add_question_fields(self) -> list[tuple[Category, list[int], list]]:
        """The categories' questions as fields `question_<pk>`, grouped by the category that asks them with the
        choosable categories they apply to (it and its subcategories). All are on the page (without JavaScript
        the resident sees every group, with it only the chosen category's); only the chosen category's are
        checked and kept."""
        if not self.categories:
            return []
        groups: dict[int, tuple[Category, list[int], list]] = {}
        try:
            chosen = self.categories.get(int(self.data.get("category", ""))) if self.is_bound else None
        except (TypeError, ValueError):
            chosen = None
        for question, owner, applies in self._asked:
            name = f"question_{question.pk}"
            field = self.fields[name] = question_field(question)
            # Shown as required (not "optional") when it is; checked as required only for the chosen category.
            if self.is_bound and (chosen is None or chosen.pk not in applies):
                field.required = False
            elif chosen is not None:
                field.error_messages["required"] = gettext(
                    "Please answer this question for the category “%(category)s”.") % {"category": chosen.localized_name}
            groups.setdefault(owner.pk, (owner, applies, []))[2].append(self[name])
        return sorted(groups.values(), key=lambda group: (group[0].order, group[0].name))

    def _sign_kept(self) -> str:
        return signing.TimestampSigner(salt=_KEPT_SALT).sign_object(self.kept) if self.kept else ""

    @staticmethod
    def _read_kept(token: str) -> list[list]:
        if not token:
            return []
        try:
            kept = signing.TimestampSigner(salt=_KEPT_SALT).unsign_object(token, max_age=PENDING_MAX_AGE)
        except signing.BadSignature:
            return []
        return [item for item in kept
                if str(item[0]).startswith(f"{PENDING_DIRECTORY}/") and default_storage.exists(item[0])][:MAX_PHOTOS]

    def clean_photos(self) -> list:
        files = self.cleaned_data.get("photos") or []
        if len(files) + len(self.kept) > MAX_PHOTOS:
            raise forms.ValidationError(
                gettext("Choose at most %(count)d photos.") % {"count": MAX_PHOTOS}, code="too_many"
            )
        return files  # read in clean(), once every other field has passed

    def clean_category(self) -> Category | None:
        pk = self.cleaned_data.get("category")
        return self.categories.get(pk) if pk is not None else None

    def clean(self):
        data = super().clean()
        data["answers"] = {}
        if "category" in self.fields:
            category = data.get("category")
            data["theme"] = category.effective_theme if category else None
            if category is not None:
                data["answers"] = self._clean_answers(category, data)
        self._clean_location(data)
        latitude, longitude = data.get("latitude"), data.get("longitude")
        if latitude is not None and longitude is not None and not in_city_bounds(latitude, longitude):
            # The city's name, not the platform's, and once: the place is one thing, however many coordinates.
            message = gettext("This place lies outside %(city)s. Choose a place within the city.") % {
                "city": settings.CITY_NAME
            }
            self.add_error("latitude", forms.ValidationError(message, code="outside_city"))
        files = data.get("photos") or []
        if files and self.read_photos and self.complete:
            self._read_photos(files)
        elif files:
            self._photos_unread = len(files)
        return data

    def _clean_answers(self, category: Category, data: dict) -> dict:
        """The chosen category's answers, {code: text or [keys]} as Open311 keeps a theme's; a required one missing
        is an error on its field."""
        answers: dict = {}
        # Category.all_questions(), from the kept catalogue the fields were made of: no query per form sent.
        owners = {category.parent_id, category.pk} - {None}
        questions = sorted((question for question in self._questions if question.category_id in owners),
                           key=lambda q: (q.category_id != category.parent_id, q.order, q.pk))
        for question in questions:
            name = f"question_{question.pk}"
            if name not in self.fields or name in self.errors:
                continue
            value = data.get(name)
            if value in (None, "", []):
                if question.required:
                    self.add_error(name, forms.ValidationError(
                        gettext("Please answer this question for the category “%(category)s”.")
                        % {"category": category.localized_name}, code="required"))
                continue
            if question.datatype == ServiceQuestion.Datatype.DATETIME:
                value = value.isoformat()
            elif question.datatype == ServiceQuestion.Datatype.NUMBER:
                value = format(value, "f")
            answers[question.code] = value
        return answers

    def _clean_location(self, data: dict) -> None:
        """Coordinates (the map, or typed), a chosen "did you mean" address, or a typed address geocoded here:
        one of them, and one message when there is none."""
        latitude, longitude = data.get("latitude"), data.get("longitude")
        if latitude is not None and longitude is not None or {"latitude", "longitude"} & set(self.errors):
            return
        if (latitude is None) != (longitude is None):
            missing = "longitude" if longitude is None else "latitude"
            self.add_error(missing, forms.ValidationError(gettext("Give both coordinates, or neither."), code="required"))
            return
        choice = parse_address_choice(data.get("address_choice", ""))
        if choice is not None:
            data["latitude"], data["longitude"], data["address"] = choice.latitude, choice.longitude, choice.label
            return
        typed = data.get("address", "")
        if not typed:
            self.add_error("address", forms.ValidationError(
                gettext("Mark the place on the map or type an address."), code="no_location"))
            return
        try:
            places = geocoder().search(typed, limit=6)
        except GeocoderUnavailable:
            places = []
            self.add_error("address", forms.ValidationError(gettext(
                "The address search is not available right now. Mark the place on the map, or give the coordinates."),
                code="geocoder_unavailable"))
            return
        # "Spui 3" is Spui 3, even when Spui 30 to 39 match too.
        exact = [place for place in places
                 if normalise_address_text(place.label.split(",")[0]) == normalise_address_text(typed.split(",")[0])]
        if len(places) == 1 or len(exact) == 1:
            place = places[0] if len(places) == 1 else exact[0]
            data["latitude"], data["longitude"], data["address"] = place.latitude, place.longitude, place.label
        elif places:
            self.address_candidates = places
            self.add_error("address", forms.ValidationError(
                gettext("Several addresses match. Choose one below, or type it more completely."), code="ambiguous"))
        else:
            self.add_error("address", forms.ValidationError(gettext(
                "We could not find this address. Check it, or mark the place on the map or give the coordinates."),
                code="not_found"))

    @property
    def notice(self) -> Category | None:
        """The chosen category, when it is handled elsewhere and the resident has not seen that yet."""
        category = self.cleaned_data.get("category") if hasattr(self, "cleaned_data") else None
        if category is not None and category.localized_notice and not self.cleaned_data.get("notice_seen"):
            return category
        return None

    @property
    def complete(self) -> bool:
        """Every field but the photos passed: a real attempt, and the only kind whose photos are read."""
        return self.is_bound and not any(field != "photos" for field in self.errors)

    @property
    def photos_unread(self) -> int:
        """Photos sent with this post that were not read, so the resident must choose them again."""
        if self.is_bound:
            self.is_valid()  # validating counts them
        return self._photos_unread

    @property
    def photos_sent(self) -> int:
        return len(self.files.getlist("photos")) if self.is_bound else 0

    def _read_photos(self, files: list) -> None:
        errors = []
        for upload in files:
            try:
                self.new_photos.append(process_photo(upload))
            except PhotoError as error:
                errors.append(forms.ValidationError(str(error), code="bad_photo"))
        if errors:
            self.add_error("photos", errors)

    def keep_photos(self, *, owner: str) -> None:
        """Store the photos that passed validation until the form is sent again, within the share
        of the client (`owner`: its address, or its account) on the server's disk."""
        if not self.new_photos:
            return
        stored, self.photos_not_kept = pending_keep(self.new_photos, owner=owner)
        self.kept.extend(stored)
        self.new_photos = []
        self.kept_token = self._sign_kept()

    def all_photos(self) -> list[ProcessedPhoto]:
        kept = []
        for name, width, height in self.kept:
            with default_storage.open(name) as stored:
                kept.append(ProcessedPhoto(content=stored.read(), width=width, height=height))
        return kept + self.new_photos

    def forget_kept_photos(self) -> None:
        for name, _width, _height in self.kept:
            default_storage.delete(name)


def question_field(question: ServiceQuestion) -> forms.Field:
    """A form field for a question, checked as Open311 checks its attribute (participation/open311.py). Required as
    the question is; a bound form makes only the chosen category's required (ReportForm._add_question_fields)."""
    kind = ServiceQuestion.Datatype
    help_text = question.localized_hint
    if question.required:
        help_text = " ".join(part for part in (str(_("Required for this category.")), help_text) if part)
    options = {"label": question.localized_description, "help_text": help_text, "required": question.required}
    choices = [(str(value["key"]), str(value["name"])) for value in question.values or []]
    if question.datatype == kind.TEXT:
        return PlainTextField(max_length=4000, widget=forms.Textarea(attrs={"rows": 3}), **options)
    if question.datatype == kind.NUMBER:
        return forms.DecimalField(max_digits=20, decimal_places=6, **options)
    if question.datatype == kind.DATETIME:
        return forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **options)
    if question.datatype == kind.SINGLEVALUELIST:
        return forms.ChoiceField(choices=[("", "–")] + choices, **options)
    if question.datatype == kind.MULTIVALUELIST:
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **options)
    return OneLineField(max_length=300, **options)


# Moved by every write to the categories, their questions and the themes (participation/apps.py).
CATEGORIES_VERSION = "participation:categories"


@dataclass
class CategoryCatalogue:
    """What the report form offers: the choosable categories (with parent and theme) and every category's
    questions, in order; the choices per language are built on first use."""
    categories: dict[int, Category]
    questions: list[ServiceQuestion]
    _choices: dict[str, NormalisedChoices] = field(default_factory=dict)
    _asked: list[tuple[ServiceQuestion, Category, list[int]]] | None = None

    def asked(self) -> list[tuple[ServiceQuestion, Category, list[int]]]:
        """The questions the form asks, each with the category that asks it (a choosable one or the main category
        of one) and the choosable categories it applies to (it and its subcategories), in the questions' order:
        found once per catalogue, not for every form."""
        if self._asked is None:
            owners = {category.pk: category for category in self.categories.values()}
            owners.update({category.parent_id: category.parent for category in self.categories.values()
                           if category.parent_id})
            self._asked = [
                (question, owner, [pk for pk, category in self.categories.items() if owner.pk in (pk, category.parent_id)])
                for question in self.questions if (owner := owners.get(question.category_id)) is not None]
        return self._asked

    def choices(self) -> NormalisedChoices:
        language = get_language() or ""
        if language not in self._choices:
            self._choices[language] = NormalisedChoices(category_choices(self.categories.values()))
        return self._choices[language]


class NormalisedChoices(BaseChoiceIterator):
    """Choices in Django's normal form (value, label or (group, [(value, label), …])), kept: a plain list given
    to a ChoiceField is normalised again for the field and for its widget on every form (a third of the report
    form's construction); an iterator is taken as it is. It must not be changed once given."""

    def __init__(self, choices: list):
        self.choices = choices

    def __iter__(self):
        return iter(self.choices)


def category_catalogue() -> CategoryCatalogue:
    """The report form's categories and questions, kept in each process until a category, question or theme
    is written (pagecache.kept): not read on every form."""
    return pagecache.kept(CATEGORIES_VERSION, "catalogue", lambda: CategoryCatalogue(
        categories={category.pk: category for category in
                    Category.objects.choosable().select_related("parent", "theme", "parent__theme")},
        questions=list(ServiceQuestion.objects.filter(category__isnull=False).order_by("order", "pk")),
    ))


def category_choices(categories) -> list:
    """"I don't know", then each main category as a group of its subcategories (a main category without any
    is a choice of its own), in the city's order."""
    groups: dict[int, tuple[Category, list]] = {}
    singles = []
    for category in sorted(categories, key=lambda c: c.tree_position):
        if category.parent_id:
            groups.setdefault(category.parent_id, (category.parent, []))[1].append((category.pk, category.localized_name))
        else:
            singles.append((category.pk, category.localized_name))
    choices: list = [("", gettext("I don't know"))]
    choices += [(parent.localized_name, options) for parent, options in groups.values()]
    if singles:
        choices.append((gettext("Other"), singles))
    return choices


def address_choice_value(place: Place) -> str:
    return f"{place.latitude:.6f},{place.longitude:.6f},{place.label}"


def parse_address_choice(value: str) -> Place | None:
    """The "did you mean" radio's value back into a place. Like typed coordinates it proves nothing; the
    city's bounds are checked after this, as for any point."""
    parts = (value or "").split(",", 2)
    if len(parts) != 3:
        return None
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return Place(clean_line(parts[2])[:255], latitude, longitude)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class CommentForm(forms.ModelForm):
    class Meta:
        model = Comment
        fields = ["text"]
        labels = {"text": _("Your comment")}
        help_texts = {"text": _("Plain text. Be kind: comments are public.")}
        widgets = {"text": forms.Textarea(attrs={"rows": 4, "data-counter": ""})}

    def clean_text(self) -> str:
        text = clean_text(self.cleaned_data["text"])
        if not text:
            raise forms.ValidationError(gettext("Write something first."), code="empty")
        return text


class SupportForm(forms.Form):
    """Anonymous support: the address receives a confirmation link."""

    email = forms.EmailField(
        label=_("Your email address"), help_text=_("We send you a link; your support counts once you follow it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class HideForm(forms.Form):
    reason = forms.CharField(label=_("Reason for hiding"), max_length=300,
                             help_text=_("Recorded with the item and shown instead of it."))

    def clean_reason(self) -> str:
        return clean_text(self.cleaned_data["reason"])


# --- The reporter's own page ("manage my report") and "send me my reports" ----------------------------------
class ReporterAdditionForm(forms.Form):
    """More information, a photo, or both, from the reporter: shown on the report as theirs."""

    text = PlainTextField(
        label=_("What would you like to add?"), required=False, max_length=Comment.MAX_LENGTH,
        help_text=_("It appears on the public page of the report, as added by the reporter."),
        widget=forms.Textarea(attrs={"rows": 3, "data-counter": ""}),
    )
    photo = forms.FileField(
        label=_("Photo"), required=False,
        help_text=_("JPEG, PNG or WebP, at most 10 MB. We remove location data and other metadata."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args, photos_left: int = MAX_PHOTOS, **kwargs):
        super().__init__(*args, **kwargs)
        self.photos_left = photos_left
        self.processed: ProcessedPhoto | None = None
        if photos_left <= 0:
            del self.fields["photo"]

    def clean(self):
        data = super().clean()
        if not data.get("text") and not data.get("photo") and not self.errors:
            raise forms.ValidationError(gettext("Write something or choose a photo."), code="empty")
        if data.get("photo") and not self.errors:
            try:
                self.processed = process_photo(data["photo"])
            except PhotoError as error:
                self.add_error("photo", str(error))
        return data


class ReasonForm(forms.Form):
    """Withdrawing (a reason is optional) or "still a problem?" (a reason is needed)."""

    reason = PlainTextField(label=_("Why?"), max_length=1000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, required: bool = False, label=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        if label:
            self.fields["reason"].label = label


class MyReportsRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("The email address you reported with"),
        help_text=_("We email you a private link to each report you made with it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
