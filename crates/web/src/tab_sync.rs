//! News of saves between the tabs of one browser profile (a `BroadcastChannel`).
//!
//! The model for one project open in several tabs: every tab edits, each save is written
//! over the version it was made from or merged into a newer one (`Store::save_annotations`),
//! and the other tabs hear of it here and re-read what they have not changed themselves
//! (`autosave.rs`). The channel only makes other tabs current sooner; without it (a
//! browser without `BroadcastChannel`) the merge at save still keeps every edit.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

const CHANNEL: &str = "sightline-saves";

/// What one save wrote.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SaveNews {
    pub project_id: String,
    /// The images whose annotations were written.
    pub paths: Vec<String>,
}

thread_local! {
    static CHANNEL_OF_TAB: RefCell<Option<web_sys::BroadcastChannel>> = const { RefCell::new(None) };
}

fn with_channel(f: impl FnOnce(&web_sys::BroadcastChannel)) {
    CHANNEL_OF_TAB.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = web_sys::BroadcastChannel::new(CHANNEL).ok();
        }
        if let Some(channel) = cell.as_ref() {
            f(channel);
        }
    });
}

/// Tells the other tabs what a save wrote.
pub fn announce(news: &SaveNews) {
    let Ok(text) = serde_json::to_string(news) else {
        return;
    };
    with_channel(|channel| {
        // A closed or missing channel only delays the other tabs until their next save.
        let _ = channel.post_message(&text.into());
    });
}

/// Calls `on_news` with each save another tab announces, for as long as the page lives.
pub fn listen(on_news: impl Fn(SaveNews) + 'static) {
    let handler =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let news = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<SaveNews>(&text).ok());
            if let Some(news) = news {
                on_news(news);
            }
        });
    with_channel(|channel| channel.set_onmessage(Some(handler.as_ref().unchecked_ref())));
    handler.forget();
}
