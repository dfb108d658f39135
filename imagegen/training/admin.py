"""Admin for training runs: progress, loss curves (server-drawn SVG), the latest sample grid,
the dataset report and the evaluation figures; generated images as an inline of variants.
Runs are started with ``imagegen_train`` (or its --queue), not typed in here."""
from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join, mark_safe

from ..admin.sources import VariantInline
from .evaluation import KID_KEYS, kid_note
from .models import TrainingRun
from .plots import loss_curve_svg

# Figures shown on the change page, in order, with labels.
GAN_FIGURES = [
    ("kid", "KID, held-out vs generated"),
    ("kid_real_floor", "KID, held-out vs train (floor)"),
    ("frechet", "Frechet distance"),
    ("swd", "Sliced Wasserstein"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("d_accuracy_held_out", "D accuracy, held-out real vs generated"),
    ("memorised_share", "Share of samples too close to a training image"),
    ("nearest_train_median", "Median distance to nearest training image"),
]


class GeneratedInline(VariantInline):
    verbose_name = "generated image"
    verbose_name_plural = "generated images (approve them in the variant list to publish)"


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "preset_label", "status", "progress_label", "device_used", "headline", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [
        "kind", "status", "progress_label", "device", "device_used", "steps_per_second", "loss_plot", "sample_grid",
        "figures", "dataset_report", "config", "seed", "checkpoint", "weights", "job_id", "error",
        "created_at", "started_at", "finished_at",
    ]
    fieldsets = [
        (None, {"fields": ["kind", "status", "progress_label", "device", "device_used", "steps_per_second", "error"]}),
        ("Losses", {"fields": ["loss_plot"]}),
        ("Samples", {"fields": ["sample_grid"]}),
        ("Evaluation (imagegen_evaluate)", {"fields": ["figures"]}),
        ("Data", {"fields": ["dataset_report"]}),
        ("Configuration and files", {"fields": ["config", "seed", "checkpoint", "weights", "job_id", "created_at", "started_at", "finished_at"]}),
    ]
    inlines = [GeneratedInline]
    actions = ["stop_runs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started by `imagegen_train`, which knows the catalogue and the GPU

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.display(description="Preset")
    def preset_label(self, obj: TrainingRun) -> str:
        return obj.preset or "—"

    @admin.display(description="Progress")
    def progress_label(self, obj: TrainingRun) -> str:
        return f"{obj.step}/{obj.total_steps} ({obj.progress:.0%})"

    @admin.display(description="Key figure")
    def headline(self, obj: TrainingRun) -> str:
        m = obj.metrics or {}
        if obj.kind == TrainingRun.Kind.SEGMENT and m:
            from .segmentation import segment_headline

            return segment_headline(m)
        if obj.kind == TrainingRun.Kind.BACKDROP and m:
            from .backdrops import backdrop_headline

            return backdrop_headline(m)
        if obj.kind == TrainingRun.Kind.ENHANCE and "gan" in m:
            return f"PSNR-Y {m['gan']['psnr_y']:.2f} dB (bicubic {m['bicubic']['psnr_y']:.2f})"
        if "kid" in m:
            return f"KID {m['kid']:.4f} ({m.get('embedding', '')})"
        return "—"

    @admin.display(description="Loss curves")
    def loss_plot(self, obj: TrainingRun) -> str:
        svg = loss_curve_svg(obj.history or [])
        return mark_safe(svg) if svg else "No losses recorded yet."  # noqa: S308 - built from numbers and escaped names

    @admin.display(description="Latest samples")
    def sample_grid(self, obj: TrainingRun) -> str:
        if not obj.samples:
            return "No samples yet (written with each checkpoint)."
        caption = {
            TrainingRun.Kind.ENHANCE: "input, bicubic, GAN, original",
            TrainingRun.Kind.SEGMENT: "input, built-in mask, fine-tuned mask, truth (fixed compositions)",
            TrainingRun.Kind.BACKDROP: "pairs: a crop of a training photo, then a generated backdrop of its look (fixed noise)",
        }.get(obj.kind, "fixed noise, the same at every checkpoint")
        return format_html('<img src="{}" alt="samples" style="max-width:640px;image-rendering:pixelated"><br><small>{}</small>', obj.samples.url, caption)

    @admin.display(description="Figures")
    def figures(self, obj: TrainingRun) -> str:
        m = obj.metrics or {}
        if not m:
            return f"Not evaluated yet: python manage.py imagegen_evaluate {obj.kind} --run {obj.pk}"
        if obj.kind == TrainingRun.Kind.SEGMENT:
            from .segmentation import segment_figures_html

            return segment_figures_html(m)
        if obj.kind == TrainingRun.Kind.BACKDROP:
            from .backdrops import backdrop_figures_html

            return backdrop_figures_html(m)
        if obj.kind == TrainingRun.Kind.ENHANCE:
            # format_html escapes its arguments into SafeStrings first, so "{:.2f}" in the template
            # would fail on them (and Django's readonly field hides the ValueError): format here
            rows = format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (name, f"{m[name]['psnr_y']:.2f}", f"{m[name]['ssim_y']:.4f}", f"{m[name]['psnr_rgb']:.2f}", f"{m[name]['ssim_rgb']:.4f}")
                    for name in ("gan", "bicubic", "lanczos") if name in m
                ),
            )
            return format_html(
                "<table><tr><th>method</th><th>PSNR-Y dB</th><th>SSIM-Y</th><th>PSNR-RGB dB</th><th>SSIM-RGB</th></tr>{}</table>"
                "<small>{} held-out images, data range 1.0, {} px border shaved, step {}</small>",
                rows, m.get("held_out_images"), m.get("border"), m.get("step"),
            )
        def value(key: str) -> str:
            return f"{m[key]:.4g}" + ("*" if key in KID_KEYS and m[key] < 0 else "")

        rows = format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((label, value(key)) for key, label in GAN_FIGURES if key in m))
        return format_html(
            "<table>{}</table><small>Embedding {} (random-weight CNN; not FID). {} generated vs {} held-out images, step {}.</small>"
            "<p><small>{}</small></p>",
            rows, m.get("embedding"), m.get("generated"), m.get("held_out_images"), m.get("step"), kid_note(m),
        )

    @admin.display(description="Dataset")
    def dataset_report(self, obj: TrainingRun) -> str:
        d = obj.dataset or {}
        split = d.get("split", {})
        report = d.get("report", {})
        skipped = [
            (reason, item[0], item[1] if len(item) > 1 else "")
            for reason in ("corrupt", "too_small", "exact_duplicates", "near_duplicates")
            for item in report.get(reason, [])
        ]
        rows = format_html_join("", "<li>{}: {} ({})</li>", skipped[:50])
        return format_html(
            "{}<br>train {}, held out {}; categories: {}<ul>{}</ul>",
            d.get("summary", "not loaded yet"), split.get("train", "?"), split.get("held_out", "?"),
            ", ".join(split.get("labels", [])) or "none (unconditional)", rows,
        )

    @admin.action(description="Stop selected runs (they save a checkpoint and can be resumed)", permissions=["view"])
    def stop_runs(self, request: HttpRequest, queryset) -> None:
        if not request.user.has_perm("imagegen.run_training"):
            self.message_user(request, "You need the 'Can start training runs' permission.", messages.ERROR)
            return
        queued = queryset.filter(status=TrainingRun.Status.QUEUED).update(status=TrainingRun.Status.STOPPED)
        running = queryset.filter(status=TrainingRun.Status.RUNNING).update(status=TrainingRun.Status.STOPPING)
        self.message_user(request, f"Stopped {queued} queued run(s); asked {running} running run(s) to stop.", messages.SUCCESS)
