from .access import access_for


def access(request):
    return {"access": access_for(getattr(request, "user", None))}
