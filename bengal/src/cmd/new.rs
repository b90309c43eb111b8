use std::path::Path;

use bengal::Result;

use crate::ui::Ui;

pub fn site(dir: &Path, ui: &Ui) -> Result<()> {
    bengal::build::new_site(dir)?;
    ui.success(&format!("Created a new site in {}", dir.display()));
    ui.info(&format!("Next: cd {} && bengal serve", dir.display()));
    Ok(())
}
