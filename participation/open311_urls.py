"""Open311 GeoReport v2 under /open311/v2/ (participation/open311.py). The extension picks the format."""
from django.urls import re_path

from participation import open311

app_name = "open311"

FORMAT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^discovery" + FORMAT, open311.discovery, name="discovery"),
    re_path(r"^services" + FORMAT, open311.service_list, name="service-list"),
    re_path(r"^services/(?P<service_code>[-\w]+)" + FORMAT, open311.service_detail, name="service-detail"),
    re_path(r"^requests" + FORMAT, open311.requests_view, name="request-list"),
    re_path(r"^requests/(?P<service_request_id>[0-9]{1,18})" + FORMAT, open311.request_detail, name="request-detail"),
    re_path(r"^tokens/(?P<token>[-\w]{1,64})" + FORMAT, open311.token_detail, name="token-detail"),
    # Anything else under /open311/v2/ answers with a spec error body, not an HTML page.
    re_path(r"^(?P<rest>.*)$", open311.not_found, name="not-found"),
]
