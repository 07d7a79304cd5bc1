//! Opening a project: the demo, one from its manifest URL, or one stored in IndexedDB; and
//! reopening the project that was open before a reload.

use std::collections::HashMap;

use leptos::prelude::*;
use sightline_core::project::{ImageCursor, Manifest};

use crate::autosave::{self, Storage};
use crate::navigation::Navigation;
use crate::project_loader::{self, DEMO_MANIFEST_URL};
use crate::storage::{ProjectRecord, local_storage};
use crate::studio::{DEMO_PROJECT_ID, Studio};

/// Where the id of the last opened project is remembered (`localStorage`), so a reload
/// reopens it.
const LAST_PROJECT_KEY: &str = "sightline.last_project";

fn remember_project(id: &str) {
    if let Some(local) = local_storage() {
        let _ = local.set_item(LAST_PROJECT_KEY, id);
    }
}

fn last_project() -> Option<String> {
    local_storage()?.get_item(LAST_PROJECT_KEY).ok()?
}

/// Where an opened project's images come from, besides its manifest.
#[derive(Default)]
pub struct Origins {
    /// Picked files not yet stored, by path.
    pub files: HashMap<String, web_sys::File>,
    /// What is known wrong with some images, by path (from their import).
    pub problems: HashMap<String, String>,
}

/// Installs an opened project's image list and restored annotations.
async fn install_project(
    nav: Navigation,
    studio: Studio,
    storage: Storage,
    project_id: String,
    manifest_url: String,
    manifest: Manifest,
    origins: Origins,
) {
    nav.pipeline.open_project(
        manifest_url.clone(),
        origins.files,
        &manifest.images,
        origins.problems,
    );
    nav.manifest_url.set(manifest_url.clone());
    nav.filter.set(None);
    nav.query.set(String::new());
    autosave::restore_project(storage, studio, &project_id, &manifest_url, &manifest).await;
    remember_project(&project_id);
    nav.project_error.set(None);
    let mut cursor = ImageCursor::new(manifest.images.len());
    if let Some(start) = nav.start_at.try_update_value(Option::take).flatten()
        && let Some(index) = manifest.images.iter().position(|e| e.path == start)
    {
        cursor = cursor.go_to(index);
    }
    nav.cursor.set(cursor);
    nav.manifest.set(Some(manifest));
}

/// Opens the project whose manifest is at `manifest_url` under `project_id`, restoring its
/// saved annotations.
pub fn open_project(
    nav: Navigation,
    studio: Studio,
    storage: Storage,
    project_id: String,
    manifest_url: String,
) {
    leptos::task::spawn_local(async move {
        match project_loader::load_manifest(&manifest_url).await {
            Ok(manifest) => {
                let origins = Origins::default();
                install_project(
                    nav,
                    studio,
                    storage,
                    project_id,
                    manifest_url,
                    manifest,
                    origins,
                )
                .await
            }
            Err(err) => nav.project_error.set(Some(err.to_string())),
        }
    });
}

/// Opens a saved project: from IndexedDB when its images are stored there, else from its
/// manifest.
pub fn open_saved_project(
    nav: Navigation,
    studio: Studio,
    storage: Storage,
    project: ProjectRecord,
) {
    if !project.stored_images {
        open_project(nav, studio, storage, project.id, project.manifest_url);
        return;
    }
    leptos::task::spawn_local(async move {
        match project_loader::load_stored_manifest(storage, &project).await {
            Ok((manifest, problems)) => {
                let origins = Origins {
                    files: HashMap::new(),
                    problems,
                };
                install_project(
                    nav,
                    studio,
                    storage,
                    project.id,
                    String::new(),
                    manifest,
                    origins,
                )
                .await
            }
            Err(err) => nav.project_error.set(Some(err.to_string())),
        }
    });
}

/// Opens a project whose import has just started: its images are shown from the picked
/// `files` until they are stored.
pub fn open_imported(
    nav: Navigation,
    studio: Studio,
    storage: Storage,
    project: ProjectRecord,
    manifest: Manifest,
    files: HashMap<String, web_sys::File>,
) {
    leptos::task::spawn_local(async move {
        let origins = Origins {
            files,
            problems: HashMap::new(),
        };
        install_project(
            nav,
            studio,
            storage,
            project.id,
            String::new(),
            manifest,
            origins,
        )
        .await
    });
}

/// Reopens the project open before the reload, else the demo (under its stable id, so its
/// annotations survive reloads).
pub fn open_start_project(nav: Navigation, studio: Studio, storage: Storage) {
    leptos::task::spawn_local(async move {
        let last = match last_project() {
            Some(id) if id != DEMO_PROJECT_ID => match storage.store().await {
                Ok(store) => store.project(&id).await.ok().flatten(),
                Err(_) => None,
            },
            _ => None,
        };
        match last {
            Some(project) => open_saved_project(nav, studio, storage, project),
            None => open_project(
                nav,
                studio,
                storage,
                DEMO_PROJECT_ID.to_owned(),
                DEMO_MANIFEST_URL.to_owned(),
            ),
        }
    });
}
