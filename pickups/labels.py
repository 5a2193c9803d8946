"""Parcel labels: a 4x6 inch PDF page per package, with a Code128 barcode and a QR code."""

from io import BytesIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas

from .models import Order

PAGE = (4 * inch, 6 * inch)
MARGIN = 0.25 * inch


def labels_pdf(orders: list[Order]) -> bytes:
    """One page per package of every order, in order; the orders come with store, site and packages."""
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=PAGE, pageCompression=1)
    pdf.setTitle("Mall Pickup labels")
    for order in orders:
        packages = list(order.packages.all())
        for package in packages:
            _draw_label(pdf, order, package, len(packages))
            pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_label(pdf, order, package, count):
    width, height = PAGE
    store, site = order.store, order.store.site
    y = height - MARGIN - 14

    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(MARGIN, y, order.get_service_level_display().upper())
    pdf.drawRightString(width - MARGIN, y, f"Package {package.sequence} of {count}")

    y -= 24
    pdf.setFont("Helvetica", 8)
    pdf.drawString(MARGIN, y, "FROM")
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawString(MARGIN, y - 13, store.name[:40])
    pdf.setFont("Helvetica", 10)
    unit = f", unit {store.unit}" if store.unit else ""
    pdf.drawString(MARGIN, y - 26, f"{site.name}{unit}"[:48])

    y -= 52
    pdf.setFont("Helvetica", 8)
    pdf.drawString(MARGIN, y, "TO")
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(MARGIN, y - 18, order.customer_name[:28])
    pdf.setFont("Helvetica", 12)
    pdf.drawString(MARGIN, y - 34, f"{order.city}, {order.state} {order.postal_code}")

    barcode = code128.Code128(package.label_code, barHeight=0.8 * inch, barWidth=1.2)
    barcode.drawOn(pdf, (width - barcode.width) / 2, 1.9 * inch)
    pdf.setFont("Courier-Bold", 12)
    pdf.drawCentredString(width / 2, 1.7 * inch, package.label_code)

    size = 1.4 * inch
    code = qr.QrCodeWidget(package.label_code)
    x0, y0, x1, y1 = code.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(code)
    renderPDF.draw(drawing, pdf, MARGIN - 6, MARGIN - 6)

    pdf.setFont("Helvetica", 8)
    pdf.drawString(MARGIN + size + 6, MARGIN + 0.9 * inch, "TRACKING CODE")
    pdf.setFont("Courier-Bold", 13)
    pdf.drawString(MARGIN + size + 6, MARGIN + 0.7 * inch, order.tracking_code)
    pdf.setFont("Helvetica", 8)
    pdf.drawString(MARGIN + size + 6, MARGIN + 0.45 * inch, f"Order {order.external_id}"[:30])
