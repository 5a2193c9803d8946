"""common.serializers.BodySerializer: each instance validates with fields of its own, as DRF's deep copies do."""

from decimal import Decimal

from rest_framework import serializers

from common.serializers import BodySerializer


class Parcel(BodySerializer):
    weight_lb = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.01"))


class Delivery(BodySerializer):
    city = serializers.CharField(max_length=20)
    tags = serializers.JSONField(required=False, default=list)  # a callable default: copied shallowly
    photos = serializers.JSONField(required=False, default=[])  # a mutable one: copied whole
    kind = serializers.ChoiceField(choices=["same_day", "two_day"])
    parcels = Parcel(many=True)
    labels = serializers.ListField(child=serializers.CharField(max_length=4))


BODY = {"city": "Chandler", "kind": "same_day", "parcels": [{"weight_lb": "2.5"}], "labels": ["AB12"]}


def test_each_instance_binds_fields_of_its_own():
    first, second = Delivery(data=BODY), Delivery(data=BODY)

    for name in ("city", "kind", "parcels", "labels"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    # nested fields are copied whole: each has its own child, bound to it
    assert first.fields["parcels"].child is not second.fields["parcels"].child
    assert first.fields["labels"].child.parent is first.fields["labels"]
    # the declared fields stay unbound, to be copied again
    assert all(field.field_name is None for field in Delivery._declared_fields.values())


def test_a_change_to_one_instance_s_field_stays_with_it():
    changed = Delivery(data=BODY | {"city": ""})
    changed.fields["city"].allow_blank = True

    assert changed.is_valid(), changed.errors
    plain = Delivery(data=BODY | {"city": ""})
    assert not plain.is_valid()
    assert plain.errors["city"] == ["This field may not be blank."]


def test_instances_validate_and_name_each_problem_as_drf_does():
    good = Delivery(data=BODY)
    bad = Delivery(
        data={"city": "x" * 21, "kind": "overnight", "parcels": [{"weight_lb": "0"}], "labels": ["TOO-LONG"]}
    )

    assert good.is_valid(), good.errors
    assert good.validated_data["parcels"] == [{"weight_lb": Decimal("2.50")}]
    assert not bad.is_valid()
    assert bad.errors == {
        "city": ["Ensure this field has no more than 20 characters."],
        "kind": ['"overnight" is not a valid choice.'],
        "parcels": {0: {"weight_lb": ["Ensure this value is greater than or equal to 0.01."]}},
        "labels": {0: ["Ensure this field has no more than 4 characters."]},
    }
    assert Delivery(data=BODY).is_valid()  # the failed validation left nothing behind


def test_a_mutable_default_is_each_instance_s_own():
    first, second = Delivery(data=BODY), Delivery(data=BODY)
    assert first.is_valid() and second.is_valid()

    first.validated_data["photos"].append("receipt.jpg")

    assert second.validated_data["photos"] == []
    assert Delivery(data=BODY).is_valid() and Delivery(data=BODY).fields["photos"].default == []
