"""Forms of open innovation: partner organisations, open calls, proposals and their PDFs, assessment, and
residents' feedback on a running pilot. They validate and normalise; the workflows are model methods and
pilots/services.py."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from pilots.forms import DateInput
from pilots.models import (
    CHALLENGES_CRITERION,
    Call,
    FeedbackAnswer,
    FeedbackQuestion,
    Organisation,
    Proposal,
    ProposalAttachment,
    Stage,
)
from smartcity.models import DepartmentChallenge, SocietalChallenge

SCORE_CHOICES = [("", "—")] + [(str(value), str(value)) for value in range(1, 6)]


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(label=_("website"), required=False, max_length=200, assume_scheme="https")

    class Meta:
        model = Organisation
        fields = ["name", "kind", "registration_number", "website", "description"]
        widgets = {"kind": forms.RadioSelect, "description": forms.Textarea(attrs={"rows": 4})}


class VerificationForm(forms.Form):
    status = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect, choices=[
        (Organisation.Status.VERIFIED, _("verified")), (Organisation.Status.REFUSED, _("refused"))])
    note = forms.CharField(label=_("Note"), required=False, max_length=500,
                           help_text=_("How it was checked, or why it is refused. Kept in the history."))


class CallForm(forms.ModelForm):
    class Meta:
        model = Call
        fields = ["title", "description", "societal_challenges", "department_challenges", "offers_location",
                  "offers_data", "budget_min", "budget_max", "criteria", "deadline"]
        widgets = {
            "societal_challenges": forms.CheckboxSelectMultiple,
            "department_challenges": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 6}),
            "criteria": forms.Textarea(attrs={"rows": 4}),
            "deadline": DateInput,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["societal_challenges"].queryset = SocietalChallenge.objects.public()
        self.fields["department_challenges"].queryset = DepartmentChallenge.objects.select_related("department")

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("budget_min"), cleaned.get("budget_max")
        if low is not None and high is not None and high < low:
            self.add_error("budget_max", gettext("The upper end is below the lower end."))
        return cleaned


class ProposalForm(forms.ModelForm):
    class Meta:
        model = Proposal
        fields = ["title", "solution", "needs_from_city", "cost_min", "cost_max", "expected_effects",
                  "societal_challenges", "scaling_changes"]
        widgets = {
            "solution": forms.Textarea(attrs={"rows": 6}),
            "needs_from_city": forms.Textarea(attrs={"rows": 3}),
            "expected_effects": forms.Textarea(attrs={"rows": 3}),
            "scaling_changes": forms.Textarea(attrs={"rows": 3}),
            "societal_challenges": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, call: Call, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["societal_challenges"].queryset = SocietalChallenge.objects.public().exclude(
            pk__in=call.societal_challenges.values("pk"))

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("cost_min"), cleaned.get("cost_max")
        if low is not None and high is not None and high < low:
            self.add_error("cost_max", gettext("The upper end is below the lower end."))
        return cleaned


def looks_like_pdf(upload) -> bool:
    """Checked by content, not by name or the browser's content type: a PDF header at the start and an
    end-of-file marker in the last kilobyte."""
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(max(upload.size - 1024, 0))
    tail = upload.read(1024)
    upload.seek(0)
    return head.startswith(b"%PDF-") and b"%%EOF" in tail


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("PDF file"), help_text=_("PDF only, at most 10 MB."))

    def __init__(self, *args, proposal: Proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.proposal = proposal

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # The limits first: the size is known before a byte is read.
        if upload.size > ProposalAttachment.MAX_BYTES:
            raise forms.ValidationError(gettext("The file is larger than 10 MB."))
        if self.proposal.attachments.count() >= ProposalAttachment.MAX_PER_PROPOSAL:
            raise forms.ValidationError(gettext("A proposal has at most %(count)s files.")
                                        % {"count": ProposalAttachment.MAX_PER_PROPOSAL})
        if not looks_like_pdf(upload):
            raise forms.ValidationError(gettext("This file is not a PDF."))
        return upload


class AssessmentForm(forms.Form):
    """One assessor's scores (1-5) on the call's criteria and the built-in one, or a declared conflict."""

    conflict_of_interest = forms.CharField(
        label=_("Conflict of interest"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Declare any tie with the organisation. With a conflict you do not score this proposal."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, proposal: Proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = [(CHALLENGES_CRITERION, gettext("How many societal challenges it credibly serves"))] + [
            (criterion, criterion) for criterion in proposal.call.criteria_list()]
        for index, (_key, label) in enumerate(self.criteria):
            self.fields[f"score_{index}"] = forms.ChoiceField(label=label, choices=SCORE_CHOICES, required=False)

    def clean(self):
        cleaned = super().clean()
        conflict = (cleaned.get("conflict_of_interest") or "").strip()
        scores = {key: int(cleaned[f"score_{index}"]) for index, (key, _label) in enumerate(self.criteria)
                  if cleaned.get(f"score_{index}")}
        if conflict and scores:
            raise forms.ValidationError(gettext("With a conflict of interest you do not score this proposal."))
        if not conflict and len(scores) < len(self.criteria):
            raise forms.ValidationError(gettext("Score every criterion, or declare a conflict of interest."))
        cleaned["scores"] = scores
        cleaned["conflict_of_interest"] = conflict
        return cleaned


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect, choices=[
        ("accept", _("accept: it becomes a pilot")), ("reject", _("reject"))])
    stage = forms.ChoiceField(label=_("The pilot starts as"), required=False, widget=forms.RadioSelect,
                              initial=Stage.IDEA, choices=[(Stage.IDEA, Stage.IDEA.label),
                                                           (Stage.PROOF_OF_CONCEPT, Stage.PROOF_OF_CONCEPT.label)])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The partner sees it. Required when you reject."))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", gettext("Give the partner a reason."))
        if cleaned.get("decision") == "accept" and not cleaned.get("stage"):
            cleaned["stage"] = Stage.IDEA
        return cleaned


class FeedbackQuestionForm(forms.ModelForm):
    class Meta:
        model = FeedbackQuestion
        fields = ["text"]

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if self.instance.pilot.feedback_questions.filter(text=text).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(gettext("This pilot already asks this question."))
        return text


class FeedbackAnswerForm(forms.ModelForm):
    value = forms.TypedChoiceField(
        coerce=int, widget=forms.RadioSelect, label=_("Your answer"),
        choices=[(1, _("1 – not at all")), (2, "2"), (3, "3"), (4, "4"), (5, _("5 – very much"))])

    class Meta:
        model = FeedbackAnswer
        fields = ["value", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}


class FeedbackEmailAnswerForm(FeedbackAnswerForm):
    """The same answer without an account: it counts once the address is confirmed by the link we email."""

    email = forms.EmailField(label=_("Your email address"), max_length=254,
                             help_text=_("We email you a link to confirm your answer. One answer per address; "
                                         "you can change it later the same way."))

    class Meta(FeedbackAnswerForm.Meta):
        pass


class HideFeedbackForm(forms.Form):
    reason = forms.CharField(label=_("Why it is hidden"), max_length=300)
