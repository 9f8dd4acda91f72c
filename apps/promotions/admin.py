"""Admin of the promotions module. Merchants and grants are fed by events: read-only.
Promotions are added through the same service as the API (so promotion.saved is emitted)
and never edited in place: a grant must always be explainable by the promotion it names."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.promotions.models import CashbackGrant, MerchantReplica, Promotion
from apps.promotions.services import promotion_create
from blipay.admin import ReadOnly


@admin.register(MerchantReplica)
class MerchantReplicaAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("name", "id")
    search_fields = ("=id", "name")
    ordering = ("name",)


class PromotionForm(forms.ModelForm):
    merchant_id = forms.TypedChoiceField(coerce=str, label="merchant")

    class Meta:
        model = Promotion
        fields = ("merchant_id", "percent", "max_amount", "starts_at", "ends_at")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["merchant_id"].choices = [
            (str(pk), name) for pk, name in MerchantReplica.objects.order_by("name").values_list("id", "name")
        ]
        self.fields["percent"].min_value = 1
        self.fields["percent"].max_value = 100
        self.fields["max_amount"].min_value = 1

    def clean(self) -> dict:
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "Must be after starts_at.")
        return data


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionForm
    list_display = ("created_at", "merchant", "percent", "max_amount", "starts_at", "ends_at", "grant_count")
    list_filter = ("starts_at", "ends_at")
    search_fields = ("=id", "=merchant_id")
    date_hierarchy = "starts_at"
    ordering = ("-created_at",)

    @admin.display(description="merchant")
    def merchant(self, promotion: Promotion) -> str:
        replica = MerchantReplica.objects.filter(id=promotion.merchant_id).first()
        return replica.name if replica else str(promotion.merchant_id)

    @admin.display(description="grants")
    def grant_count(self, promotion: Promotion) -> int:
        return promotion.grants.count()

    def save_model(self, request: HttpRequest, obj: Promotion, form: forms.ModelForm, change: bool) -> None:
        created = promotion_create(
            merchant_id=str(obj.merchant_id),
            percent=obj.percent,
            max_amount=obj.max_amount,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
        )
        obj.id, obj.version, obj.created_at = created.id, created.version, created.created_at
        obj._state.adding = False

    def has_change_permission(self, request: HttpRequest, obj: Promotion | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Promotion | None = None) -> bool:
        return False


@admin.register(CashbackGrant)
class CashbackGrantAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "amount", "payment_amount", "member_id", "merchant_id", "payment_id", "promotion")
    list_filter = ("created_at",)
    search_fields = ("=id", "=payment_id", "=member_id", "=merchant_id", "=promotion__id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_select_related = ("promotion",)
