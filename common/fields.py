"""Serializer fields for request bodies that take only the JSON type the API schema gives them.

DRF's own are lenient: a CharField keeps the digits of a number and a BooleanField reads 0, 1, "yes" or
"on". The schema says string and boolean, and tests/contract checks that what it calls invalid is refused.
"""

from rest_framework import serializers


class Text(serializers.CharField):
    """A JSON string; a number, true or false is refused (400, "Not a valid string.")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Flag(serializers.BooleanField):
    """JSON true or false; 0, 1 and words are refused (400, "Must be a valid boolean.")."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
