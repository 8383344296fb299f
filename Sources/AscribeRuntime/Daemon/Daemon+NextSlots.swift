import AscribeCore

extension Daemon {
    /// Each enabled calendar job's next slot after what the daemon has processed (the same
    /// account `ascribe status` gives), and how many jobs have none (disabled, `@reboot`,
    /// never firing): what `ascribe daemon` prints once it has started.
    public func nextSlots() -> (slots: [NextSlotsText.Slot], notScheduled: Int) {
        var slots: [NextSlotsText.Slot] = []
        var notScheduled = 0
        for definition in definitions {
            let zone = definition.timezone ?? configuration.defaultZone
            guard definition.enabled, disablements.blocking(definition) == nil, case .calendar(let expression) = definition.schedule,
                  let next = expression.nextFire(after: lastProcessed, in: zone) else {
                notScheduled += 1
                continue
            }
            slots.append(NextSlotsText.Slot(job: definition.name.rawValue, instant: next.instant, zone: zone))
        }
        return (slots, notScheduled)
    }
}
