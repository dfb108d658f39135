"""The Style form a shop admin fills in: fields generated from the engine's parameter specs,
JSON only under "Advanced", the reference file kept across a validation error, one message
for an unknown parameter everywhere, and no stored defaults."""
from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imagegen.engine import ParameterError, validate
from imagegen.models import Style
from shop.catalogue.drawing import make_cube_lut

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "admin:imagegen_style_add"


def look_unknown() -> str:
    """The message names every accepted name: look's own and the generic options (strength…)."""
    from imagegen.engine import get_processor
    from imagegen.engine.pipeline import GENERIC_PARAMS

    names = sorted({*get_processor("look").param_specs, *GENERIC_PARAMS})
    assert {"method", "strength", "preserve_colors"} <= set(names)
    return f"Unknown parameter 'colour' for 'look'; allowed: {', '.join(names)}."


def field_html(html: str, name: str) -> str:
    match = re.search(rf'<(input|select)[^>]*name="{name}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def test_the_form_has_real_fields_generated_from_the_param_specs(admin_client, redis_conn):
    html = admin_client.get(reverse(ADD)).content.decode()
    processor = re.search(r'<select[^>]*name="processor".*?</select>', html, re.S).group(0)
    assert "sketch — Pencil sketch (grey lines on white)." in processor and "look — Copy the colour and tone of a reference photo." in processor

    sigma = field_html(html, "param__sketch__sigma")  # Number -> number input with the engine's bounds
    assert 'type="number"' in sigma and 'min="' in sigma and 'max="' in sigma and 'step="' in sigma
    assert "<select" in field_html(html, "param__look__method")  # Choice -> select
    assert 'type="checkbox"' in field_html(html, "param__generic__preserve_colors")  # Flag -> checkbox
    assert 'type="number"' in field_html(html, "param__generic__strength")
    # the style vector is filled in by imagegen, never typed in
    assert 'name="param__style__style_vector"' not in html
    # raw JSON only under a collapsed "Advanced" section
    advanced = html[html.index(">Advanced<") - 400 :]
    assert "collapse" in advanced[:400] and 'name="parameters"' in advanced
    # each processor's settings are a fieldset the page shows for the chosen processor only
    assert "imagegen-params-sketch" in html and "imagegen-params-generic" in html


def test_generated_fields_are_validated_by_the_engine_and_only_changes_are_stored(admin_client, redis_conn):
    data = {"name": "Soft pencil", "slug": "soft-pencil", "processor": "sketch", "is_active": "on", "parameters": "{}",
            "param__sketch__sigma": "4", "param__generic__strength": "1", "param__generic__preserve_product": "off"}  # fmt: skip
    page = admin_client.post(reverse(ADD), data, follow=True)
    assert page.status_code == 200
    style = Style.objects.get(slug="soft-pencil")
    assert style.parameters == {"sigma": 4.0}  # the defaults (strength 1, ...) are not stored

    bad = admin_client.post(reverse(ADD), {**data, "slug": "too-soft", "param__sketch__sigma": "-3"})
    html = bad.content.decode()
    assert "Parameter &#x27;sigma&#x27; must be" in html and not Style.objects.filter(slug="too-soft").exists()
    assert re.search(r'class="form-row errors field-param__sketch__sigma"', html)  # the error sits on its field


def test_options_that_mean_nothing_for_a_processor_are_not_stored(admin_client, redis_conn):
    data = {"name": "Enhance", "slug": "enhance-x", "processor": "enhance", "is_active": "on", "parameters": "{}",
            "param__enhance__max_input": "512", "param__generic__strength": "0.5", "param__generic__preserve_colors": "on"}  # fmt: skip
    admin_client.post(reverse(ADD), data, follow=True)
    assert Style.objects.get(slug="enhance-x").parameters == {}  # enhance changes the size: no restyle options


def test_the_uploaded_reference_survives_a_validation_error(admin_client, redis_conn):
    cube = make_cube_lut("cool", size=5).encode()
    data = {"name": "Cool", "slug": "cool", "processor": "lut", "is_active": "on", "parameters": '{"colour": 1}'}
    page = admin_client.post(reverse(ADD), {**data, "reference": SimpleUploadedFile("cool.cube", cube)})
    html = page.content.decode()
    assert page.status_code == 200 and "Unknown parameter &#x27;colour&#x27;" in html
    assert "Kept from your last try: cool.cube" in html
    token = re.search(r'name="kept_reference" value="([^"]+)"', html).group(1)

    # The admin fixes the parameters and saves without choosing the file again.
    page = admin_client.post(reverse(ADD), {**data, "parameters": "{}", "kept_reference": token}, follow=True)
    assert page.status_code == 200
    style = Style.objects.get(slug="cool")
    with style.reference.open("rb") as stream:
        assert stream.read() == cube
    assert style.reference.name.endswith(".cube")

    # A forged token names no file.
    forged = admin_client.post(reverse(ADD), {**data, "slug": "forged", "parameters": "{}", "kept_reference": "products/x.png"})
    assert b"needs a reference file" in forged.content


def test_an_unknown_parameter_gets_the_same_message_everywhere(admin_client, redis_conn):
    LOOK_UNKNOWN = look_unknown()
    with pytest.raises(ParameterError) as engine_error:
        validate("look", {"colour": 1})
    assert str(engine_error.value) == LOOK_UNKNOWN

    page = admin_client.post(reverse(ADD), {"name": "X", "slug": "x", "processor": "look", "parameters": '{"colour": 1}'})
    assert LOOK_UNKNOWN.replace("'", "&#x27;") in page.content.decode()

    import imagegen
    from imagegen import VariantSpec
    from imagegen.checks import check_sources  # the system check on registered specs
    from imagegen.registry import registry

    source = imagegen.register("imagegen_testapp.Banner", "picture", specs=[VariantSpec("warm", processor="look", params={"colour": 1})])
    try:
        messages = [e.msg for e in check_sources(None)]
    finally:
        registry.unregister(source.id)
        imagegen.register("imagegen_testapp.Banner", "picture", specs=[VariantSpec("thumb", processor="sketch", format="png", size=32)])
    assert any(LOOK_UNKNOWN in m for m in messages), messages


def test_every_param_type_gets_a_fitting_widget():
    from imagegen.admin.param_fields import make_field
    from imagegen.engine.processors.base import Choice, Flag, Number, Param

    assert make_field("n", Number(default=2, minimum=1, maximum=8, integer=True)).widget.attrs == {"step": "1", "style": "width:8em", "min": "1", "max": "8"}
    assert make_field("c", Choice(default="a", choices=("a", "b"))).choices == [("a", "a"), ("b", "b")]
    assert make_field("f", Flag(default=True)).initial is True
    assert make_field("x", Param(default=None)).widget.input_type == "text"  # a type the form does not know
    try:
        from imagegen.engine.processors.base import Color
    except ImportError:
        return
    color = make_field("background", Color(default="#ffffff"))
    assert color.widget.input_type == "color" and color.initial == "#ffffff"
