from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    REGENCY = "regency", _("Regency/City")
    DISTRICT = "district", _("District (kecamatan)")
    VILLAGE = "village", _("Village (desa/kelurahan)")


class RegionQuerySet(models.QuerySet):
    def within(self, code: str):
        """The region with this code and everything below it."""
        return self.filter(models.Q(code=code) | models.Q(code__startswith=code + "."))

    def villages(self):
        return self.filter(level=Level.VILLAGE)


class Region(models.Model):
    """One node of the Kemendagri hierarchy: province -> kabupaten/kota -> kecamatan -> desa.

    Codes are dotted (`36.01.01.2001`), so a subtree is a code prefix, which every area scope uses.
    """

    code = models.CharField(_("code"), max_length=13, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.name

    @property
    def digits(self) -> str:
        """The code without dots, as it appears in a NIK (`360101`)."""
        return self.code.replace(".", "")

    @property
    def is_village(self) -> bool:
        return self.level == Level.VILLAGE

    @property
    def kind_label(self) -> str:
        if self.level == Level.REGENCY:
            return _("City") if self.code.split(".")[1] >= "71" else _("Regency")
        if self.level == Level.VILLAGE:
            return _("Urban village") if self.code.split(".")[3].startswith("1") else _("Village")
        return self.get_level_display()

    def contains(self, other: "Region") -> bool:
        return other.code == self.code or other.code.startswith(self.code + ".")

    def ancestor_codes(self) -> list[str]:
        parts = self.code.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts))]
