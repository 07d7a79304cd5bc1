//! The labels panel (right): the project's classes (add, rename, delete, reorder), the
//! shapes of the open image (selection synced with the canvas, visibility toggles), the
//! label and flags of the selected shape, and the image's flags.

use leptos::prelude::*;
use sightline_core::editing::colour_of_label;

use crate::studio::Studio;

#[component]
fn ClassList() -> impl IntoView {
    let studio = expect_context::<Studio>();
    let new_class = RwSignal::new(String::new());
    let add = move || {
        studio.doc.add_class(&new_class.get_untracked());
        new_class.set(String::new());
    };
    let classes = move || {
        studio
            .doc
            .dataset
            .with(|d| d.classes.iter().cloned().enumerate().collect::<Vec<_>>())
    };
    view! {
        <section class="classes" aria-label="Classes">
            <header>"Classes"</header>
            <ol>
                <For each=classes key=|(index, name)| (*index, name.clone()) let:((index, name))>
                    <li data-testid="class-item" class:current=move || studio.class_index.get() == index
                        on:click=move |_| studio.pick_class(index)
                        title="Use for new shapes (and give to the selected ones)">
                        <input type="color" class="swatch-picker" data-testid="class-colour"
                            title="Colour of this class"
                            prop:value={
                                let name = name.clone();
                                move || studio.doc.colour_of(&name)
                            }
                            on:click=|event| event.stop_propagation()
                            on:input={
                                let name = name.clone();
                                move |event| studio.doc.set_class_colour(&name, &event_target_value(&event))
                            } />
                        <span class="key">{if index < 9 { format!("{}", index + 1) } else { String::new() }}</span>
                        <span class="name">{name.clone()}</span>
                        <button title="Rename" on:click={
                            let name = name.clone();
                            move |event| {
                                event.stop_propagation();
                                let answer = web_sys::window()
                                    .and_then(|w| w.prompt_with_message_and_default("Rename class", &name).ok())
                                    .flatten();
                                if let Some(answer) = answer {
                                    studio.doc.rename_class(index, &answer);
                                }
                            }
                        }>"✎"</button>
                        <button title="Move up" on:click=move |event| { event.stop_propagation(); studio.doc.move_class(index, -1) }>"↑"</button>
                        <button title="Move down" on:click=move |event| { event.stop_propagation(); studio.doc.move_class(index, 1) }>"↓"</button>
                        <button title="Delete (only when no shape uses it)"
                            on:click=move |event| { event.stop_propagation(); studio.delete_class(index) }>"✕"</button>
                    </li>
                </For>
            </ol>
            <form class="row" on:submit=move |event| { event.prevent_default(); add() }>
                <input type="text" placeholder="new class" data-testid="new-class"
                    prop:value=move || new_class.get()
                    on:input=move |event| new_class.set(event_target_value(&event)) />
                <button type="submit" data-testid="add-class">"Add"</button>
            </form>
        </section>
    }
}

#[component]
fn ShapeList() -> impl IntoView {
    let studio = expect_context::<Studio>();
    let rows = move || {
        let classes = studio.doc.dataset.with(|d| d.classes.clone());
        let colours = studio.doc.class_colours.get();
        studio.doc.with_current_shapes(|shapes| {
            shapes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        i,
                        s.label.clone(),
                        s.kind.labelme_name(),
                        colours
                            .get(&s.label)
                            .cloned()
                            .unwrap_or_else(|| colour_of_label(&classes, &s.label)),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="shapes" aria-label="Shapes">
            <header>"Shapes " <span class="count" data-testid="shape-count">{move || rows().len()}</span></header>
            <ol data-testid="shape-list">
                <For each=rows key=|row| row.clone() let:((index, label, kind, colour))>
                    <li data-testid="shape-item" data-kind=kind
                        class:selected=move || studio.selection.with(|s| s.contains(&index))
                        on:click=move |event| {
                            let additive = event.shift_key() || event.ctrl_key() || event.meta_key();
                            studio.selection.update(|s| {
                                if additive {
                                    if let Some(at) = s.iter().position(|&i| i == index) { s.remove(at); } else { s.push(index); }
                                } else {
                                    *s = vec![index];
                                }
                            });
                        }>
                        <input type="checkbox" title="Visible" data-testid="shape-visible"
                            prop:checked=move || studio.hidden.with(|h| !h.contains(&index))
                            on:click=|event| event.stop_propagation()
                            on:change=move |event| {
                                let visible = event_target_checked(&event);
                                studio.hidden.update(|h| { if visible { h.remove(&index); } else { h.insert(index); } });
                            } />
                        <span class="swatch" style:background=colour></span>
                        <span class="name">{label.clone()}</span>
                        <span class="kind">{kind}</span>
                    </li>
                </For>
            </ol>
        </section>
    }
}

/// Label and flags of the (first) selected shape.
#[component]
fn SelectedShape() -> impl IntoView {
    let studio = expect_context::<Studio>();
    let new_flag = RwSignal::new(String::new());
    let selected = move || {
        let first = studio.selection.with(|s| s.first().copied())?;
        studio
            .doc
            .with_current_shapes(|shapes| shapes.get(first).cloned().map(|shape| (first, shape)))
    };
    view! {
        {move || selected().map(|(index, shape)| {
            let classes = studio.doc.dataset.with(|d| d.classes.clone());
            let flags: Vec<(String, bool)> = shape.flags.iter().map(|(k, v)| (k.clone(), v.as_bool().unwrap_or(false))).collect();
            let shape_for_flags = shape.clone();
            view! {
                <section class="selected-shape" aria-label="Selected shape">
                    <header>"Selected"</header>
                    <label class="row">"Label "
                        <select data-testid="shape-label" on:change=move |event| {
                            studio.relabel_selection(&event_target_value(&event));
                        }>
                            {classes.iter().map(|c| view! {
                                <option value=c.clone() selected=*c == shape.label>{c.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <ul class="flags">
                        {flags.into_iter().map(|(name, on)| {
                            let shape = shape_for_flags.clone();
                            let flag_name = name.clone();
                            view! {
                                <li><label>
                                    <input type="checkbox" prop:checked=on on:change=move |event| {
                                        let mut after = shape.clone();
                                        after.flags.insert(flag_name.clone(), event_target_checked(&event).into());
                                        studio.replace_shape(index, after);
                                    } />
                                    {name.clone()}
                                </label></li>
                            }
                        }).collect_view()}
                    </ul>
                    <form class="row" on:submit={
                        let shape = shape.clone();
                        move |event| {
                            event.prevent_default();
                            let name = new_flag.get_untracked().trim().to_owned();
                            if name.is_empty() { return; }
                            let mut after = shape.clone();
                            after.flags.insert(name, true.into());
                            studio.replace_shape(index, after);
                            new_flag.set(String::new());
                        }
                    }>
                        <input type="text" placeholder="shape flag" prop:value=move || new_flag.get()
                            on:input=move |event| new_flag.set(event_target_value(&event)) />
                        <button type="submit">"Add flag"</button>
                    </form>
                </section>
            }
        })}
    }
}

#[component]
fn ImageFlags() -> impl IntoView {
    let studio = expect_context::<Studio>();
    let new_flag = RwSignal::new(String::new());
    let flags = move || {
        let path = studio.doc.current_path.get();
        studio.doc.dataset.with(|d| {
            path.and_then(|p| {
                d.image(&p).map(|i| {
                    i.flags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_bool().unwrap_or(false)))
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_default()
        })
    };
    view! {
        <section class="image-flags" aria-label="Image flags">
            <header>"Image flags"</header>
            <ul class="flags">
                <For each=flags key=|f| f.clone() let:((name, on))>
                    <li><label>
                        <input type="checkbox" prop:checked=on on:change={
                            let name = name.clone();
                            move |event| studio.doc.set_image_flag(&name, event_target_checked(&event))
                        } />
                        {name.clone()}
                    </label></li>
                </For>
            </ul>
            <form class="row" on:submit=move |event| {
                event.prevent_default();
                let name = new_flag.get_untracked().trim().to_owned();
                if !name.is_empty() { studio.doc.set_image_flag(&name, true); }
                new_flag.set(String::new());
            }>
                <input type="text" placeholder="image flag" prop:value=move || new_flag.get()
                    on:input=move |event| new_flag.set(event_target_value(&event)) />
                <button type="submit">"Add"</button>
            </form>
        </section>
    }
}

#[component]
pub fn LabelsPanel() -> impl IntoView {
    view! {
        <aside class="labels-panel" aria-label="Labels">
            <ClassList />
            <ShapeList />
            <SelectedShape />
            <ImageFlags />
        </aside>
    }
}
