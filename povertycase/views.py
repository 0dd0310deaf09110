from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from opd.access import access_for
from opd.models import Role


@login_required
def home(request):
    access = access_for(request.user)
    if Role.FIELD_WORKER in access.roles and not access.has_role(
        Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF
    ):
        return redirect("visits:due")  # a field worker starts from the visits due
    if access.reads_register:
        return redirect("households:list")
    if Role.CSR_PARTNER in access.roles:
        return redirect("pledges:dashboard")
    if Role.OPD_OFFICER in access.roles:
        return redirect("referrals:inbox")  # an agency officer starts from the open referrals
    if Role.BANK_OFFICER in access.roles:
        return redirect("groups:kur_board")  # a bank officer starts from the KUR applications
    return render(request, "home.html")


def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
