//! The join link as a QR code (SVG), for the projector.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// An SVG of `url`'s QR code, dark on white with the quiet zone, or an
/// empty string if the text cannot be encoded (it is never that long).
pub fn join_qr_svg(url: &str) -> String {
    match QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(240, 240)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_link_renders_as_an_svg_qr_code() {
        let svg = join_qr_svg("http://192.168.1.20:8080/?join=ABCDEFGH");
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        // The same text gives the same picture; another text another one.
        assert_eq!(svg, join_qr_svg("http://192.168.1.20:8080/?join=ABCDEFGH"));
        assert_ne!(svg, join_qr_svg("http://192.168.1.20:8080/?join=ABCDEFGJ"));
    }
}
