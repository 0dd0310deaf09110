"""Answer lists for living conditions and members (BPS / Regsosek categories, see DOMAIN.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class HouseholdStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MOVED = "moved", _("Moved away")
    DISSOLVED = "dissolved", _("Dissolved")
    DUPLICATE = "duplicate", _("Duplicate")


class RegistrationSource(models.TextChoices):
    DTSEN = "dtsen", _("DTSEN")
    P3KE = "p3ke", _("P3KE")
    DTKS = "dtks", _("DTKS")
    FIELD = "field", _("Field registration")
    REFERRAL = "referral", _("Referral by an agency")
    OTHER = "other", _("Other")


class DesilSource(models.TextChoices):
    DTSEN = "dtsen", _("DTSEN")
    P3KE = "p3ke", _("P3KE")
    OTHER = "other", _("Other")


class FloorMaterial(models.TextChoices):
    MARBLE = "marble", _("Marble/granite")
    CERAMIC = "ceramic", _("Ceramic")
    PARQUET = "parquet", _("Parquet/vinyl")
    TILE = "tile", _("Tile/terrazzo")
    WOOD = "wood", _("Wood/board")
    CEMENT = "cement", _("Cement/brick")
    BAMBOO = "bamboo", _("Bamboo")
    EARTH = "earth", _("Earth")


class WallMaterial(models.TextChoices):
    MASONRY = "masonry", _("Masonry")
    PLASTERED_BAMBOO = "plastered_bamboo", _("Plastered bamboo")
    WOOD = "wood", _("Wood/board")
    WOVEN_BAMBOO = "woven_bamboo", _("Woven bamboo")
    LOGS = "logs", _("Logs")
    BAMBOO = "bamboo", _("Bamboo")


class RoofMaterial(models.TextChoices):
    CONCRETE = "concrete", _("Concrete")
    CLAY_TILE = "clay_tile", _("Clay tile")
    ZINC = "zinc", _("Zinc")
    ASBESTOS = "asbestos", _("Asbestos")
    BAMBOO = "bamboo", _("Bamboo")
    WOOD = "wood", _("Wood/shingle")
    THATCH = "thatch", _("Straw/thatch")


class WaterSource(models.TextChoices):
    BOTTLED = "bottled", _("Bottled/refill water")
    PIPED = "piped", _("Piped water")
    BORE_WELL = "bore_well", _("Bore well")
    PROTECTED_WELL = "protected_well", _("Protected well")
    UNPROTECTED_WELL = "unprotected_well", _("Unprotected well")
    PROTECTED_SPRING = "protected_spring", _("Protected spring")
    UNPROTECTED_SPRING = "unprotected_spring", _("Unprotected spring")
    RIVER = "river", _("River/lake")
    RAIN = "rain", _("Rain water")


SAFE_WATER_SOURCES = {
    WaterSource.BOTTLED,
    WaterSource.PIPED,
    WaterSource.BORE_WELL,
    WaterSource.PROTECTED_WELL,
    WaterSource.PROTECTED_SPRING,
    WaterSource.RAIN,
}


class Toilet(models.TextChoices):
    OWN = "own", _("Own toilet")
    SHARED = "shared", _("Shared toilet")
    PUBLIC = "public", _("Public toilet")
    NONE = "none", _("No toilet")


class Lighting(models.TextChoices):
    PLN_450 = "pln_450", _("PLN metered 450 VA")
    PLN_900 = "pln_900", _("PLN metered 900 VA")
    PLN_1300 = "pln_1300", _("PLN metered 1300 VA")
    PLN_2200 = "pln_2200", _("PLN metered 2200 VA or more")
    PLN_UNMETERED = "pln_unmetered", _("PLN without meter")
    NON_PLN = "non_pln", _("Non-PLN electricity")
    NONE = "none", _("No electricity")


class CookingFuel(models.TextChoices):
    ELECTRICITY = "electricity", _("Electricity")
    LPG_LARGE = "lpg_large", _("LPG 5.5 kg or more")
    LPG_3KG = "lpg_3kg", _("LPG 3 kg")
    TOWN_GAS = "town_gas", _("Town gas")
    KEROSENE = "kerosene", _("Kerosene")
    BRIQUETTE = "briquette", _("Briquette")
    CHARCOAL = "charcoal", _("Charcoal")
    FIREWOOD = "firewood", _("Firewood")
    NONE = "none", _("Does not cook")


class Ownership(models.TextChoices):
    OWN = "own", _("Own")
    RENT = "rent", _("Rent")
    RENT_FREE = "rent_free", _("Rent-free")
    OFFICIAL = "official", _("Official housing")
    OTHER = "other", _("Other")


class Relationship(models.TextChoices):
    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    CHILD_IN_LAW = "child_in_law", _("Child-in-law")
    GRANDCHILD = "grandchild", _("Grandchild")
    PARENT = "parent", _("Parent")
    PARENT_IN_LAW = "parent_in_law", _("Parent-in-law")
    OTHER_RELATIVE = "other_relative", _("Other relative")
    OTHER = "other", _("Other")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class MaritalStatus(models.TextChoices):
    SINGLE = "single", _("Not married")
    MARRIED = "married", _("Married")
    DIVORCED = "divorced", _("Divorced")
    WIDOWED = "widowed", _("Widowed")


class Education(models.TextChoices):
    NONE = "none", _("No schooling")
    PRIMARY_INCOMPLETE = "primary_incomplete", _("Did not finish primary school")
    PRIMARY = "primary", _("Primary school (SD)")
    JUNIOR = "junior", _("Junior secondary (SMP)")
    SENIOR = "senior", _("Senior secondary (SMA/SMK)")
    DIPLOMA = "diploma", _("Diploma (D1-D3)")
    BACHELOR = "bachelor", _("Bachelor (D4/S1)")
    POSTGRADUATE = "postgraduate", _("Postgraduate (S2/S3)")


class SchoolEnrolment(models.TextChoices):
    NOT_SCHOOL_AGE = "not_school_age", _("Not of school age")
    ENROLLED = "enrolled", _("In school")
    NOT_ENROLLED = "not_enrolled", _("Never enrolled")
    DROPPED_OUT = "dropped_out", _("Dropped out")


class WorkStatus(models.TextChoices):
    WORKING = "working", _("Working")
    LOOKING = "looking", _("Looking for work")
    SCHOOL = "school", _("In school")
    HOUSEKEEPING = "housekeeping", _("Housekeeping")
    UNABLE = "unable", _("Unable to work / retired")
    CHILD = "child", _("Child (not working)")


class Disability(models.TextChoices):
    NONE = "none", _("None")
    PHYSICAL = "physical", _("Physical")
    SENSORY = "sensory", _("Sensory")
    INTELLECTUAL = "intellectual", _("Intellectual")
    MENTAL = "mental", _("Mental")
    MULTIPLE = "multiple", _("Multiple")


class HealthInsurance(models.TextChoices):
    NONE = "none", _("None")
    PBI_JKN = "pbi_jkn", _("JKN paid by central government (PBI)")
    PBI_DAERAH = "pbi_daerah", _("JKN paid by local government (PBI daerah)")
    JKN_CONTRIBUTOR = "jkn_contributor", _("JKN, own or employer contribution")
    OTHER = "other", _("Other insurance")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("Living in the household")
    MOVED_OUT = "moved_out", _("Moved out")
    DIED = "died", _("Died")
    REMOVED = "removed", _("Removed (registered in error)")


class KkChangeReason(models.TextChoices):
    FIRST = "first", _("First registration")
    MOVED = "moved", _("Family moved")
    SPLIT = "split", _("Family split (pecah KK)")
    HEAD_CHANGED = "head_changed", _("Head of household changed")
    CORRECTION = "correction", _("Correction of a wrong number")


class VisitMet(models.TextChoices):
    HEAD = "head", _("The head of the household")
    SPOUSE = "spouse", _("The head's spouse")
    OTHER_MEMBER = "other_member", _("Another member")
    NOBODY = "nobody", _("Nobody was home")


class BasicNeed(models.TextChoices):
    """The seven basic needs a visit checks (the rule sets' deprivations use the same keys)."""

    FOOD = "food", _("Food")
    WATER = "water", _("Clean water")
    SANITATION = "sanitation", _("Sanitation")
    HEALTH = "health", _("Health")
    EDUCATION = "education", _("Education")
    HOUSING = "housing", _("Decent housing")
    INFORMATION = "information", _("Information and social services")


class MemberChange(models.TextChoices):
    BIRTH = "birth", _("Birth (a new member)")
    DEATH = "death", _("Death")
    MOVED_OUT = "moved_out", _("Moved out")
    SCHOOL = "school", _("School enrolment")
    WORK = "work", _("Work")


class VisitConflict(models.TextChoices):
    NONE = "none", _("No conflict")
    OPEN = "open", _("Waiting for a supervisor")
    RESOLVED = "resolved", _("Resolved")
